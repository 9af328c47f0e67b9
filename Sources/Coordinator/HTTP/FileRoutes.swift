import Foundation
import Hummingbird
import LabelAPI

/// `GET /v1/files/<path>`: images under `--image-root`, for workers on other machines. Nothing outside the
/// root is ever served: `..` components are refused and the resolved path must stay under the resolved root.
struct FileRoutes {
    let services: CoordinatorServices

    func register(on router: Router<CoordinatorContext>) {
        router.on(Routes.file) { _, context in
            guard services.configuration.imageRoot != nil else {
                throw CoordinatorError(.notFound, "this coordinator serves no files (no --image-root)")
            }
            let components = context.parameters.getCatchAll().map { $0.removingPercentEncoding ?? String($0) }
            guard !components.isEmpty, !components.contains(where: { $0 == ".." || $0 == "." || $0.isEmpty || $0.contains("\0") }) else {
                throw CoordinatorError(.badRequest, "invalid file path")
            }
            guard let path = try await BlockingIO.run({ services.imageRootPath(components) }) else {
                throw CoordinatorError(.forbidden, "path leaves the image root")
            }
            return try await services.fileResponse(path: path, contentType: "application/octet-stream",
                                                   what: "\(components.joined(separator: "/")) under the image root", context: context)
        }
    }
}
