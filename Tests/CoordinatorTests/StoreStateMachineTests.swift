import Foundation
import Testing

import Coordinator
import LabelAPI

/// Every transition of every state machine, allowed and forbidden, without I/O.
@Suite struct StoreStateMachineTests {
    static func check<S: StateMachine>(_ type: S.Type, allowed: Set<[String]>) {
        for from in S.allCases {
            for to in S.allCases {
                let expected = allowed.contains([from.rawValue, to.rawValue])
                #expect(from.canMove(to: to) == expected, "\(S.self) \(from.rawValue) -> \(to.rawValue)")
            }
        }
    }

    @Test func jobTransitions() {
        #expect(JobState.allCases.map(\.rawValue) == ["preparing", "queued", "running", "done", "failed", "cancelled"])
        Self.check(JobState.self, allowed: [
            ["preparing", "queued"], ["preparing", "running"], ["preparing", "failed"], ["preparing", "cancelled"],
            ["queued", "running"], ["queued", "failed"], ["queued", "cancelled"],
            ["running", "done"], ["running", "failed"], ["running", "cancelled"], ["done", "running"], ["failed", "running"],
        ])
        #expect(JobState.cancelled.isTerminal)
        #expect(!JobState.done.isTerminal && !JobState.failed.isTerminal)
        #expect(JobState.failed.isFinished && !JobState.failed.isActive)
        #expect(JobState.preparing.isActive && JobState.queued.isActive && JobState.running.isActive && !JobState.done.isActive && !JobState.cancelled.isActive)
    }

    @Test func taskTransitions() {
        #expect(TaskState.allCases.map(\.rawValue) == ["queued", "leased", "done", "failed", "cancelled"])
        Self.check(TaskState.self, allowed: [
            ["queued", "leased"], ["queued", "failed"], ["queued", "cancelled"],
            ["leased", "done"], ["leased", "queued"], ["leased", "failed"], ["leased", "cancelled"],
        ])
        #expect(TaskState.done.isTerminal && TaskState.failed.isTerminal && TaskState.cancelled.isTerminal)
        #expect(TaskState.leased.successors == [.queued, .done, .failed, .cancelled])
    }

    @Test func imageTransitions() {
        #expect(ImageState.allCases.map(\.rawValue) == ["pending", "running", "done", "failed"])
        Self.check(ImageState.self, allowed: [
            ["pending", "running"], ["pending", "failed"], ["running", "done"], ["running", "failed"], ["running", "pending"], ["failed", "pending"],
        ])
        #expect(ImageState.done.isTerminal)
        #expect(ImageState.done.isFinished && ImageState.failed.isFinished && !ImageState.running.isFinished)
    }

    @Test func noStateMovesToItself() {
        #expect(JobState.allCases.allSatisfy { !$0.canMove(to: $0) })
        #expect(TaskState.allCases.allSatisfy { !$0.canMove(to: $0) })
        #expect(ImageState.allCases.allSatisfy { !$0.canMove(to: $0) })
    }

    @Test func sqlGuardsListTheSourceStates() {
        #expect(TaskState.sqlWhere(.leased, to: .done) == "state = 'leased'")
        #expect(TaskState.sqlWhere(.queued, .leased, to: .cancelled) == "state IN ('queued', 'leased')")
        #expect(JobState.sqlWhere(.done, to: .running, column: "j.state") == "j.state = 'done'")
        #expect(ImageState.sqlIn(.pending, .running) == "state IN ('pending', 'running')")
    }

    @Test func checkConstraintsMatchTheEnums() throws {
        let schema = try String(contentsOf: StoreSchemaTests.packageRoot.appendingPathComponent("schema.sql"), encoding: .utf8)
        #expect(schema.contains(JobState.sqlCheck))
        #expect(schema.contains(TaskState.sqlCheck))
        #expect(schema.contains(ImageState.sqlCheck))
    }
}
