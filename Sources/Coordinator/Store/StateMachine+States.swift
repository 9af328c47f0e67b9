import LabelAPI

extension JobState: StateMachine {}
extension TaskState: StateMachine {}
extension ImageState: StateMachine {}
