import LabelAPI

/// Per-image options of MaskCLIP (docs/maskclip.md section 4 to 6) and the other dense modes (docs/DENSE-MODES.md).
public struct MaskCLIPOptions: Sendable, Equatable, Codable {
    /// How the last block becomes dense features.
    public var mode: DenseMode = .maskclip
    /// Target short side of the resize (s = min(longSide / long, shortSide / short)).
    public var shortSide: Int = 512
    /// Cap on the long side after resizing.
    public var longSide: Int = 2048
    /// Prompt-denoising threshold; 0 turns it off.
    public var promptDenoise: Float = 0.5
    /// Key-smoothing threshold; 0 (default) turns it off, the reference uses 1.0.
    public var keySmoothing: Float = 0
    public var preset: Preset = .clip
    /// Sliding windows of this side over the resized image (docs/DENSE-MODES.md §2); 0: the whole image at once.
    public var window: Int = 0
    /// The windows' step; 0: half the window.
    public var stride: Int = 0
    /// PAMR refinement (docs/DENSE-MODES.md §3) on the full-size scores: iterations (0 = off) and dilations.
    public var pamrIterations: Int = 0
    public var pamrDilations: [Int] = [8, 16]
    /// The scale of the softmax over the queries' scores that gives each pixel's probability (docs/DENSE-MODES.md §2).
    public var logitScale: Float = 100
    /// Pixels whose best class probability is below this become void (255); 0: off.
    public var minConfidence: Float = 0
    /// Whether `labels(_:)` also gives each pixel's confidence.
    public var confidence: Bool = false

    public init(mode: DenseMode = .maskclip, shortSide: Int = 512, longSide: Int = 2048, promptDenoise: Float = 0.5,
                keySmoothing: Float = 0, preset: Preset = .clip, window: Int = 0, stride: Int = 0,
                pamrIterations: Int = 0, pamrDilations: [Int] = [8, 16], logitScale: Float = 100, minConfidence: Float = 0,
                confidence: Bool = false) {
        self.mode = mode
        self.logitScale = logitScale
        self.minConfidence = minConfidence
        self.confidence = confidence
        self.pamrIterations = pamrIterations
        self.pamrDilations = pamrDilations
        self.window = window
        self.stride = stride
        self.shortSide = shortSide
        self.longSide = longSide
        self.promptDenoise = promptDenoise
        self.keySmoothing = keySmoothing
        self.preset = preset
    }

    /// The options as a job's settings, whose rules (`JobSettings.validate`) are the only ones: these options run
    /// exactly when a job with these settings would be accepted.
    public var settings: JobSettings {
        JobSettings(mode: Named(mode), promptDenoise: promptDenoise, keySmoothing: keySmoothing, shortSide: shortSide,
                    longSide: longSide, window: window, stride: stride, pamrIterations: pamrIterations, pamrDilations: pamrDilations,
                    logitScale: logitScale, minConfidence: minConfidence, saveConfidence: confidence, preset: Named(preset))
    }

    public func validate() throws {
        do { try settings.validate() } catch { throw InferenceError(.badArgument, "\(error)") }
    }

    /// The step between windows.
    var windowStride: Int { stride > 0 ? stride : max(1, window / 2) }
}

/// One image's output: its label map and, when the options ask for it, its confidence map.
public struct LabeledImage: Sendable, Equatable {
    public var labels: LabelMap
    public var confidence: ConfidenceMap?
}

/// MaskCLIP for one job: the vision tower, the job's class embeddings and its options. Labels one image at a
/// time; BLAS uses every core inside each image.
public struct MaskCLIP: Sendable {
    public let model: CLIPModel
    public let classes: ClassEmbeddings
    public let options: MaskCLIPOptions
    package let settings: BlockSettings
    let decision: QueryDecision

    public init(model: CLIPModel, classes: ClassEmbeddings, options: MaskCLIPOptions) throws {
        try options.validate()
        guard options.mode != .scclip || model.config.vision.numHiddenLayers >= 2 else {
            throw InferenceError(.badArgument, "SC-CLIP reads the blocks before the last: this model has only one")
        }
        guard classes.dimension == model.config.projectionDim else {
            throw InferenceError(.badArgument, "class embeddings have \(classes.dimension) dimensions, the model projects to \(model.config.projectionDim)")
        }
        self.model = model
        self.classes = classes
        self.options = options
        settings = try options.preset.visionSettings(model.config.vision)
        decision = QueryDecision(queryClasses: classes.queryClasses, scale: options.logitScale,
                                 minConfidence: options.minConfidence, confidence: options.confidence)
    }

    /// The label map of one image: class indices in the order of `classes.classNames` (void where the class is
    /// less probable than `minConfidence`), same size as the image.
    public func label(_ image: RGBImage, available: Int? = SystemMemory.available()) throws -> LabelMap {
        try labels(image, available: available).labels
    }

    /// The label map of one image and, with `options.confidence`, its confidence map.
    /// An image that would need more memory than this process may still take fails with `.imageTooLarge`
    /// (`available` defaults to what the machine and its cgroup leave), instead of aborting the process.
    public func labels(_ image: RGBImage, available: Int? = SystemMemory.available()) throws -> LabeledImage {
        let needed = memoryEstimate(height: image.height, width: image.width)
        if let available, needed > available {
            let (h, w) = PreparedImage.resizedSize(height: image.height, width: image.width, shortSide: options.shortSide, longSide: options.longSide)
            throw InferenceError(.imageTooLarge, String(
                format: "labeling this %d×%d image (resized to %d×%d) needs about %.1f GiB; %.1f GiB are available: "
                    + "lower the job's shortSide/longSide or give the worker more memory",
                image.width, image.height, w, h, Double(needed) / 1_073_741_824, Double(available) / 1_073_741_824))
        }
        let (h, w) = (image.height, image.width)
        // Scores on a grid, and the size they pass through on their way to the image (bilinear both times).
        let scores: Matrix, grid: (Int, Int), through: (Int, Int)
        var resized: PreparedImage?  // the resized image as it is: the windows' source, and PAMR's guide
        if options.window > 0 {
            let whole = prepare(image, rounding: .asResized)
            (scores, grid, through) = (windowedLogits(whole), (whole.resizedHeight, whole.resizedWidth), (h, w))
            resized = whole
        } else {
            // Through the resized size (MaskCLIP, NACLIP) or straight to the image's size (ClearCLIP, SCLIP), as
            // each method's code does it.
            let prepared = prepare(image)
            scores = denseScores(prepared).scores
            grid = (prepared.gridHeight, prepared.gridWidth)
            through = [.clearclip, .sclip, .scclip].contains(options.mode) ? (h, w) : (prepared.resizedHeight, prepared.resizedWidth)
        }
        let (indices, confidence) = options.pamrIterations > 0
            ? refinedLabels(scores, grid: grid, through: through, image: image, resized: resized ?? prepare(image, rounding: .asResized))
            : upsampleDecide(scores, gridHeight: grid.0, gridWidth: grid.1, resizedHeight: through.0, resizedWidth: through.1,
                             height: h, width: w, decision: decision)
        // A threshold computes the probabilities too; they are a map only when asked for.
        return LabeledImage(labels: LabelMap(width: w, height: h, indices: indices),
                            confidence: options.confidence ? confidence.map { ConfidenceMap(width: w, height: h, values: $0) } : nil)
    }

    /// The scores at the image's full size, refined by PAMR (guided by `resized`, the normalised image rounded
    /// `.asResized`, brought to that size), then each pixel's label and confidence by `decision`.
    func refinedLabels(_ scores: Matrix, grid: (Int, Int), through: (Int, Int), image: RGBImage,
                       resized: PreparedImage) -> (labels: [UInt8], confidence: [UInt8]?) {
        let refined = refinedScores(scores, grid: grid, through: through, image: image, resized: resized)
        let (w, plane) = (image.width, refined.layout.plane)
        return decision.maps(height: image.height, width: w) { decide in
            Parallel.forEachChunk(image.height, grain: 8) { rows in
                for y in rows {
                    let row = refined.base + refined.layout.offset(plane: 0, row: y)
                    for x in 0..<w { decide(y * w + x, row + x, plane) }
                }
            }
        }
    }

    /// PAMR's input and output: the scores upsampled to the image (a plane per query, written row by row as they
    /// are upsampled), refined.
    func refinedScores(_ scores: Matrix, grid: (Int, Int), through: (Int, Int), image: RGBImage, resized: PreparedImage) -> PAMR.Planes {
        let (h, w, k) = (image.height, image.width, scores.cols)
        let layout = PAMR.Layout(height: h, width: w, dilations: options.pamrDilations)
        let planes = PAMR.Planes(count: k, layout: layout)
        forEachUpsampledRow(scores, gridHeight: grid.0, gridWidth: grid.1, resizedHeight: through.0, resizedWidth: through.1,
                            height: h, width: w) { y, row in
            for c in 0..<k {
                let target = planes.base + layout.offset(plane: c, row: y)
                for x in 0..<w { target[x] = row[x * k + c] }
            }
        }
        planes.pad()
        let guide: PAMR.Planes = {
            var packed = [Float](repeating: 0, count: 3 * h * w)
            let plane = resized.resizedHeight * resized.resizedWidth
            for c in 0..<3 {
                let channel = resized.planes[c * plane..<(c + 1) * plane].withUnsafeBufferPointer {
                    Resample.bilinear($0, height: resized.resizedHeight, width: resized.resizedWidth, channels: 1, toHeight: h, toWidth: w)
                }
                packed.replaceSubrange(c * h * w..<(c + 1) * h * w, with: channel)
            }
            return packed.withUnsafeBufferPointer { PAMR.Planes($0, count: 3, layout: layout) }
        }()
        return PAMR.refine(planes, guide: guide, dilations: options.pamrDilations, iterations: options.pamrIterations)
    }

    /// Bytes one image needs besides the model and the decoded image: the prepared planes and patches, the
    /// encoder's activations ([N, 6·D + I] floats), the attention scores of the heads that run at once (one
    /// [N, N] matrix each, quadratic in the tokens; two in the last block of SCLIP and NACLIP), the dense scores
    /// and their upsampling, and the label map.
    public func memoryEstimate(height: Int, width: Int) -> Int {
        let vision = model.config.vision
        let p = vision.patchSize
        let (h, w) = PreparedImage.resizedSize(height: height, width: width, shortSide: options.shortSide, longSide: options.longSide)
        let k = classes.queryClasses.count
        // What the tower sees at once: the whole image, or one window (with sliding windows, the resized image,
        // the running sums [H·W, Q] and one window's upsampled scores besides).
        let c = options.window
        let (th, tw) = c > 0 ? (min(c, h), min(c, w)) : (h, w)
        let (ph, pw) = ((th + p - 1) / p * p, (tw + p - 1) / p * p)
        let tokens = ph / p * (pw / p) + 1
        let windows = c > 0 ? 3 * h * w + h * w * (k + 1) + ph * pw * k : 0
        // PAMR at the image's size, in padded planes: the scores twice, the neighbours' weights and the guide (and
        // the guide once more before it is padded).
        let plane = PAMR.Layout(height: height, width: width, dilations: options.pamrDilations).plane
        let pamr = options.pamrIterations > 0 ? plane * (2 * k + 8 * options.pamrDilations.count + 3) + 3 * height * width : 0
        let floats = 2 * 3 * ph * pw + tokens * (6 * vision.hiddenSize + vision.intermediateSize)
            + min(Parallel.workers, vision.numAttentionHeads) * options.mode.attentionMatrices * tokens * tokens + 4 * tokens * k
            + 2 * Parallel.workers * w * k + windows + pamr
        return 4 * floats + 2 * height * width
    }

    package func prepare(_ image: RGBImage, rounding: PreparedImage.PatchRounding? = nil) -> PreparedImage {
        PreparedImage(image, shortSide: options.shortSide, longSide: options.longSide,
                      patch: model.config.vision.patchSize, statistics: options.preset.statistics, rounding: rounding ?? options.mode.rounding)
    }

    /// The sliding-window protocol (docs/DENSE-MODES.md §2) over the resized image: windows of side c every t
    /// pixels (the last row and column of windows moved back to end at the image's edge), each labeled as an image
    /// of its own, its raw cosines upsampled bilinearly to the window and averaged over the windows covering each
    /// pixel. Returns [H·W, Q] (Q queries) for the resized H × W.
    package func windowedLogits(_ resized: PreparedImage) -> Matrix {
        let (height, width, c, t) = (resized.resizedHeight, resized.resizedWidth, options.window, options.windowStride)
        let k = classes.queryClasses.count
        var sum = Matrix(rows: height * width, cols: k)
        var count = [Float](repeating: 0, count: height * width)
        let rows = max(height - c + t - 1, 0) / t + 1, cols = max(width - c + t - 1, 0) / t + 1
        for i in 0..<rows {
            for j in 0..<cols {
                let (y2, x2) = (min(i * t + c, height), min(j * t + c, width))
                let (y1, x1) = (max(y2 - c, 0), max(x2 - c, 0))
                let crop = resized.window(y: y1, x: x1, height: y2 - y1, width: x2 - x1, rounding: options.mode.windowRounding)
                let logits = classLogits(model.vision.denseFeatures(crop, mode: options.mode, settings: settings, keys: false).features)
                // To the window's pixels: padding around the window (ClearCLIP) is upsampled with it and cut away;
                // otherwise the grid is stretched over the window.
                let padded = options.mode.windowRounding == .padAround
                let (th, tw) = padded ? (crop.inputHeight, crop.inputWidth) : (crop.resizedHeight, crop.resizedWidth)
                let upsampled = logits.data.withUnsafeBufferPointer {
                    Resample.bilinear($0, height: crop.gridHeight, width: crop.gridWidth, channels: k, toHeight: th, toWidth: tw)
                }
                for r in 0..<crop.resizedHeight {
                    let from = ((crop.top + r) * tw + crop.left) * k, to = ((y1 + r) * width + x1) * k
                    sum.data.withUnsafeMutableBufferPointer { s in
                        upsampled.withUnsafeBufferPointer { u in addInPlace(s.baseAddress! + to, u.baseAddress! + from, count: crop.resizedWidth * k) }
                    }
                    for x in x1..<x2 { count[(y1 + r) * width + x] += 1 }
                }
            }
        }
        for p in 0..<height * width {
            let inverse = 1 / count[p]
            for j in 0..<k { sum.data[p * k + j] *= inverse }
        }
        return sum
    }

    /// f Tᵀ: each position's cosine with each query's embedding.
    func classLogits(_ features: Matrix) -> Matrix {
        classes.values.withUnsafeBufferPointer {
            linear(features, weight: Tensor($0.baseAddress!, shape: [classes.queryClasses.count, classes.dimension]), bias: nil)
        }
    }

    /// Everything between the prepared image and the upsampling, kept apart for the golden tests.
    package struct Dense {
        package var features: Matrix   // f [HW, E], unit rows
        package var logits: Matrix     // f Tᵀ [HW, Q], before prompt denoising
        package var scores: Matrix     // after prompt denoising and key smoothing
    }

    /// The image path from patch embedding to dense scores (what `bench encoder` times).
    package func denseScores(_ prepared: PreparedImage) -> Dense {
        let smoothing = options.keySmoothing > 0
        let (features, keys) = model.vision.denseFeatures(prepared, mode: options.mode, settings: settings, keys: smoothing)
        let logits = classLogits(features)
        var scores = logits
        MaskCLIPHead.promptDenoise(&scores, threshold: options.promptDenoise)
        if smoothing, let keys {
            scores = MaskCLIPHead.keySmooth(scores, keys: keys, threshold: options.keySmoothing)
        }
        return Dense(features: features, logits: logits, scores: scores)
    }
}
