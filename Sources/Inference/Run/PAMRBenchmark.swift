import Foundation

extension Benchmark {
    /// `labelmill bench pamr`: median milliseconds of PAMR (weights and iterations) on random scores of `classes`
    /// classes over a width × height image, after one warm-up run.
    public static func pamr(width: Int, height: Int, classes: Int, iterations: Int, dilations: [Int], runs: Int) -> (medianMs: Double, minMs: Double) {
        var generator = SystemRandomNumberGenerator()
        let image = (0..<3 * width * height).map { _ in Float.random(in: -2...2, using: &generator) }
        let scores = (0..<classes * width * height).map { _ in Float.random(in: -1...1, using: &generator) }
        var times: [Double] = []
        for run in 0...max(runs, 1) {
            var refined = scores
            let start = DispatchTime.now().uptimeNanoseconds
            PAMR.refine(&refined, classes: classes, image: image, height: height, width: width, dilations: dilations, iterations: iterations)
            if run > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6) }
        }
        times.sort()
        return (times[times.count / 2], times[0])
    }
}
