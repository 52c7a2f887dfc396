import Foundation

/// A one-line live progress bar on standard error (redrawn in place on a terminal, a line every few
/// seconds otherwise, so logs of batch jobs stay readable).
final class ProgressBar {
    let total: Int
    let label: String
    let start = Date()
    var lastDraw = Date.distantPast
    let interactive = isatty(STDERR_FILENO) != 0

    /// Work already done before this process started (a resumed run): excluded from the rate behind the ETA.
    let baseline: Int

    init(total: Int, label: String, alreadyDone: Int = 0) {
        self.total = max(total, 1)
        self.label = label
        baseline = alreadyDone
    }

    func update(_ done: Int, _ message: @autoclosure () -> String = "", force: Bool = false) {
        let now = Date()
        let interval = interactive ? 0.1 : 5.0
        guard force || now.timeIntervalSince(lastDraw) >= interval || done >= total else { return }
        lastDraw = now
        let frac = min(1, Double(done) / Double(total))
        let elapsed = now.timeIntervalSince(start)
        let eta = done > baseline ? elapsed * Double(total - done) / Double(done - baseline) : 0
        let width = 24
        let filled = Int(frac * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line =
            "\(label) [\(bar)] \(done)/\(total) \(message()) | \(formatDuration(elapsed)) elapsed, ETA \(formatDuration(eta))"
        FileHandle.standardError.write(
            Data(((interactive ? "\r\u{1B}[K" : "") + line + (interactive ? "" : "\n")).utf8))
    }

    func finish() {
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

func formatDuration(_ s: Double) -> String {
    let t = Int(s.rounded())
    return t >= 3600 ? String(format: "%dh%02dm", t / 3600, (t % 3600) / 60) : String(format: "%d:%02d", t / 60, t % 60)
}

/// Set by SIGINT so long loops can stop cleanly and save.
nonisolated(unsafe) var interruptRequested = false

func installInterruptHandler() {
    signal(SIGINT) { _ in
        if interruptRequested { _exit(130) }  // a second Ctrl-C exits at once
        interruptRequested = true
    }
}
