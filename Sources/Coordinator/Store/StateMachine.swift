import LabelAPI

/// What `JobState`, `TaskState` and `ImageState` share: a `canMove(to:)` table written once per enum, and the SQL
/// `WHERE` fragment derived from it that every state-changing statement of the Store uses as its guard.
///
/// A statement such as `UPDATE tasks SET state = 'done' ... WHERE id = ? AND \(TaskState.sqlWhere(.leased, to: .done))`
/// can only be written for a transition the enum allows (checked when the statement is built, which the tests do),
/// and SQLite refuses the row, rather than corrupting it, when the stored state has moved on.
public protocol StateMachine: RawRepresentable<String>, CaseIterable, Hashable, Sendable {
    /// Whether a row in this state may be moved to `next`. Staying in the same state is not a transition.
    func canMove(to next: Self) -> Bool
}

extension StateMachine {
    /// The states this one may move to.
    public var successors: [Self] { Self.allCases.filter { canMove(to: $0) } }

    /// The states with no way out.
    public var isTerminal: Bool { successors.isEmpty }

    /// The SQL guard for moving rows from any of `sources` to `target`: `state = 'leased'` or
    /// `state IN ('queued', 'leased')`. Every source must be allowed to move to `target`.
    package static func sqlWhere(_ sources: Self..., to target: Self, column: String = "state") -> String {
        precondition(!sources.isEmpty, "a transition needs a source state")
        for source in sources {
            precondition(source.canMove(to: target), "\(Self.self): \(source.rawValue) -> \(target.rawValue) is not allowed")
        }
        if sources.count == 1 { return "\(column) = '\(sources[0].rawValue)'" }
        return "\(column) IN (" + sources.map { "'\($0.rawValue)'" }.joined(separator: ", ") + ")"
    }

    /// The state as an SQL string literal, `'leased'`: statements name states through the enums, never by hand.
    /// Written into the SQL, never bound: SQLite matches a partial index's `state = '...'` only to a literal.
    var sql: String { "'\(rawValue)'" }

    /// `state IN ('a', 'b')` for a set of states, for reads (no transition implied).
    package static func sqlIn(_ states: Self..., column: String = "state") -> String {
        "\(column) IN (" + states.map { "'\($0.rawValue)'" }.joined(separator: ", ") + ")"
    }

    /// The CHECK constraint text of the state column, as written in schema.sql.
    package static var sqlCheck: String {
        "CHECK (state IN (" + allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ") + "))"
    }
}
