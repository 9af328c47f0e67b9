import LabelClient
import Testing

/// Runs `body` and expects the coordinator's refusal with this HTTP status (and text): a `ClientError` from the
/// client, a `CurlError` from a bare request.
package func expectStatus(_ status: Int, containing text: String? = nil, _ body: () async throws -> Void) async {
    do {
        try await body()
        Issue.record("expected HTTP \(status), the call succeeded")
    } catch let error as ClientError {
        #expect(error.status == status, "\(error.message)")
        if let text { #expect(error.message.contains(text), "\(error.message)") }
    } catch let error as CurlError {
        #expect(error.code == .httpStatus(status), "\(error.message)")
        if let text { #expect(error.message.contains(text), "\(error.message)") }
    } catch {
        Issue.record("expected HTTP \(status), got \(error)")
    }
}
