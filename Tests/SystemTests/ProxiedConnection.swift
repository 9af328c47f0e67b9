import Foundation

/// One client connection of `TCPFaultProxy` and its connection to the coordinator, served by one thread:
/// poll both sockets, frame what arrives into HTTP messages, forward it, and apply the proxy's fault to each
/// request (and, for truncation, to its response).
final class ProxiedConnection {
    /// How the connection ends: normally (FIN) or with a TCP RST.
    private enum Ending: Error {
        case close, reset
    }

    /// A forwarded request still waiting for its response.
    private struct Pending {
        var method: String
        var truncate: Bool
    }

    private let proxy: TCPFaultProxy
    private let client: Int32
    private let server: Int32
    private var requests = HTTPFramer()
    private var responses = HTTPFramer()
    private var pending: [Pending] = []
    /// Body bytes of the response being truncated still to forward before the connection is cut.
    private var truncateAfter: Int?

    init(proxy: TCPFaultProxy, client: Int32, server: Int32) {
        self.proxy = proxy
        self.client = client
        self.server = server
    }

    /// Forwards until either side closes, a fault ends the connection, or the proxy stops; closes both sockets.
    func run() {
        var ending = Ending.close
        var fds = [pollfd(fd: client, events: Int16(POLLIN), revents: 0), pollfd(fd: server, events: Int16(POLLIN), revents: 0)]
        do {
            while !proxy.isStopped {
                guard poll(&fds, 2, 200) >= 0 || errno == EINTR else { break }
                if fds[0].revents != 0 { try fromClient() }
                if fds[1].revents != 0 { try fromServer() }
            }
        } catch let end as Ending {
            ending = end
        } catch {
            ending = .close  // malformed HTTP: just close
        }
        if ending == .reset { LoopbackSocket.reset(client) } else { close(client) }
        close(server)
    }

    private func fromClient() throws {
        let bytes = LoopbackSocket.receive(client)
        guard !bytes.isEmpty else { throw Ending.close }
        requests.append(bytes)
        while let event = try requests.next(bodyless: { _ in false }) {
            switch event {
            case .head(let head):
                let fault = proxy.fault(forRequest: "\(head.method) \(head.path)")
                switch fault {
                case .drop?: throw Ending.close
                case .reset?: throw Ending.reset
                case .delay?: Thread.sleep(forTimeInterval: proxy.schedule.delaySeconds)
                case .truncate?, nil: break
                }
                pending.append(Pending(method: head.method, truncate: fault == .truncate))
                try send(server, head.bytes)
            case .body(let piece):
                try send(server, piece)
            case .end:
                break
            }
        }
    }

    private func fromServer() throws {
        let bytes = LoopbackSocket.receive(server)
        guard !bytes.isEmpty else { throw Ending.close }
        responses.append(bytes)
        let bodyless = { [unowned self] (head: HTTPFramer.Head) in
            head.status < 200 || head.status == 204 || head.status == 304 || pending.first?.method == "HEAD"
        }
        while let event = try responses.next(bodyless: bodyless) {
            switch event {
            case .head(let head) where head.status < 200:  // an interim answer: the request still waits
                try send(client, head.bytes)
            case .head(let head):
                let request = pending.isEmpty ? Pending(method: "", truncate: false) : pending.removeFirst()
                if !request.truncate {
                    try send(client, head.bytes)
                } else if let length = head.contentLength, length > 1, request.method != "HEAD" {
                    try send(client, head.bytes)
                    truncateAfter = length / 2
                } else {
                    try send(client, head.bytes.prefix(head.bytes.count / 2))
                    throw Ending.close
                }
            case .body(let piece):
                guard let budget = truncateAfter else {
                    try send(client, piece)
                    continue
                }
                try send(client, piece.prefix(budget))
                if piece.count >= budget { throw Ending.close }
                truncateAfter = budget - piece.count
            case .end:
                truncateAfter = nil
            }
        }
    }

    private func send(_ fd: Int32, _ bytes: some Collection<UInt8>) throws {
        guard LoopbackSocket.sendAll(fd, bytes) else { throw Ending.close }
    }
}
