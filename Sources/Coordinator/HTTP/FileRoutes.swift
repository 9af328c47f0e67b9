import Foundation
import Hummingbird
import LabelAPI

/// `GET /v1/files/<path>`: images under `--image-root`, for workers on other machines. Nothing outside the
/// root is ever served: `..` components are refused and the resolved path must stay under the resolved root.
struct FileRoutes {
    let services: CoordinatorServices

    func register(on router: Router<CoordinatorContext>) {
        router.on(Routes.file) { _, context in
            guard let root = services.configuration.imageRoot else {
                throw CoordinatorError(.notFound, "this coordinator serves no files (no --image-root)")
            }
            let components = context.parameters.getCatchAll().map { $0.removingPercentEncoding ?? String($0) }
            guard !components.isEmpty, !components.contains(where: { $0 == ".." || $0 == "." || $0.isEmpty || $0.contains("\0") }) else {
                throw CoordinatorError(.badRequest, "invalid file path")
            }
            let path = try await BlockingIO.run {  // resolving symlinks reads the file system
                let resolvedRoot = root.resolvingSymlinksInPath().path
                let path = URL(fileURLWithPath: resolvedRoot).appendingPathComponent(components.joined(separator: "/")).resolvingSymlinksInPath().path
                guard path.hasPrefix(resolvedRoot + "/") else { throw CoordinatorError(.forbidden, "path leaves the image root") }
                return path
            }
            return try await services.fileResponse(path: path, contentType: "application/octet-stream",
                                                   what: "\(components.joined(separator: "/")) under the image root", context: context)
        }
    }
}
