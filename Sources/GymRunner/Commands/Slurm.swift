import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym

/// Writes (and with --submit, submits) Slurm batch scripts: a sweep as a job array of shards plus a merge job, or
/// a training study as a job array of tasks plus an aggregation job, each depending on its array (afterok).
struct Slurm: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Slurm job arrays: a sweep's shards plus a merge, or a study's runs plus an aggregation.",
        discussion: """
            gym-runner slurm sweep --dir D --shards 16 -- --env LiquidCell-v2 --episodes 32
            gym-runner slurm study --dir D --agents dqn,cem --envs LiquidCell-v2 --seeds 1:8 -- --steps 20000
            Each writes readable scripts into D (*.sbatch and submit.sh) that you can edit and submit yourself \
            (bash D/submit.sh); --submit does it now. Array tasks skip work whose output is already complete, so \
            re-submitting after a failure or preemption reruns only what is missing.
            """,
        subcommands: [SlurmSweep.self, SlurmStudy.self])
}

/// The #SBATCH options shared by the generated scripts.
struct SlurmOptions: ParsableArguments {
    @Option(help: "Partition (default: the cluster's default).") var partition: String?
    @Option(help: "Time limit per array task (Slurm format, e.g. 02:00:00).") var time: String = "02:00:00"
    @Option(help: "CPUs per array task.") var cpusPerTask: Int = 2
    @Option(help: "Memory per array task (Slurm format).") var memory: String = "4G"
    @Option(help: "At most this many array tasks at once (the array's %M throttle; 0: no limit).") var throttle: Int = 0
    @Option(help: "The gym-runner binary the jobs run (default: this one).") var gymRunner: String?
    @Flag(help: "Submit now (runs DIR/submit.sh, which calls sbatch).") var submit = false

    func validate() throws {
        if cpusPerTask < 1 { throw ValidationError("--cpus-per-task must be at least 1") }
        if throttle < 0 { throw ValidationError("--throttle must be ≥ 0") }
        for (flag, value) in [("--time", time), ("--memory", memory)] + (partition.map { [("--partition", $0)] } ?? [])
        where value.isEmpty || value.contains(where: { $0.isWhitespace || $0 == "'" || $0 == "\"" }) {
            throw ValidationError("\(flag) '\(value)' must be one word")
        }
    }

    /// The absolute path of the gym-runner binary the scripts call.
    func binary() throws -> String {
        let path = gymRunner ?? CommandLine.arguments[0]
        let absolute =
            path.hasPrefix("/")
            ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
        let resolved = (absolute as NSString).standardizingPath
        guard FileManager.default.isExecutableFile(atPath: resolved) else {
            throw UserError("gym-runner binary '\(resolved)' is not an executable file (set --gym-runner)")
        }
        return resolved
    }

    /// The header of a batch script.
    func header(name: String, log: String, array: String?) -> String {
        var lines = ["#!/bin/bash", "#SBATCH --job-name=\(name)"]
        if let array { lines.append("#SBATCH --array=\(array)\(throttle > 0 ? "%\(throttle)" : "")") }
        lines += [
            "#SBATCH --cpus-per-task=\(cpusPerTask)", "#SBATCH --time=\(time)", "#SBATCH --mem=\(memory)",
            "#SBATCH --output=\(log)"
        ]
        if let partition { lines.append("#SBATCH --partition=\(partition)") }
        return lines.joined(separator: "\n") + "\nset -euo pipefail\n"
    }
}

/// Quotes a word for bash.
func shellQuote(_ s: String) -> String {
    if !s.isEmpty && s.allSatisfy({ $0.isLetter || $0.isNumber || "-_./:=,+@%".contains($0) }) { return s }
    return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// Writes the scripts of a job array and its dependent job, and submits them when asked.
func writeSlurmJobs(
    dir: String, options: SlurmOptions, arrayName: String, arrayScript: String, finalName: String, finalScript: String,
    summary: String
) throws {
    let folder = (dir as NSString).appendingPathComponent
    try FileManager.default.createDirectory(atPath: folder("logs"), withIntermediateDirectories: true)
    let submit = """
        #!/bin/bash
        # Submits the array, then the job that depends on its success (written by gym-runner slurm; edit freely).
        # Re-running this after a failure or preemption reruns only the array tasks whose output is incomplete.
        set -euo pipefail
        cd "$(dirname "$0")"
        array=$(sbatch --parsable \(arrayName))
        final=$(sbatch --parsable --dependency=afterok:${array%%;*} \(finalName))
        echo "submitted array job ${array%%;*} and dependent job ${final%%;*}"

        """
    for (name, text) in [(arrayName, arrayScript), (finalName, finalScript), ("submit.sh", submit)] {
        try writeAtomically(folder(name), Data(text.utf8))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder(name))
    }
    print("wrote \(folder(arrayName)), \(folder(finalName)) and \(folder("submit.sh")): \(summary)")
    guard options.submit else {
        print("submit with: bash \(folder("submit.sh"))")
        return
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = [folder("submit.sh")]
    do { try process.run() } catch { throw UserError("cannot run \(folder("submit.sh")): \(error)") }
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw UserError(
            "submission failed (exit \(process.terminationStatus)); is sbatch on PATH? The scripts are in \(dir)")
    }
}

struct SlurmSweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "A sweep as a job array of --shards shards (DIR/parts/sweep-k.h5) and a merge job (DIR/sweep.h5).")
    @Option(help: "Folder of the scripts, logs, parts and merged sweep.") var dir: String
    @Option(help: "Number of shards (array tasks).") var shards: Int
    @OptionGroup var slurm: SlurmOptions
    @Argument(parsing: .postTerminator, help: "Options of 'gym-runner design sweep', after '--' (not --shard, --out).")
    var sweepArguments: [String] = []

    func validate() throws {
        if shards < 1 || shards > 10_000 { throw ValidationError("--shards must lie in 1 … 10,000") }
        for flag in ["--shard", "--out", "--skip-complete"] where sweepArguments.contains(flag) {
            throw ValidationError("\(flag) is set by the job array; remove it from the sweep options after '--'")
        }
    }

    func run() throws {
        do { _ = try Sweep.parse(sweepArguments + ["--shard", "0/\(shards)", "--out", "x.h5"]) } catch {
            throw UserError("sweep options: \(Sweep.message(for: error))")
        }
        let gym = shellQuote(try slurm.binary())
        let root = absolutePath(dir)
        let parts = (root as NSString).appendingPathComponent("parts")
        try FileManager.default.createDirectory(atPath: parts, withIntermediateDirectories: true)
        let args = sweepArguments.map(shellQuote).joined(separator: " ")
        let array =
            slurm.header(name: "mg-sweep", log: "\(root)/logs/sweep-%A_%a.out", array: "0-\(shards - 1)")
                + """
                # Shard $SLURM_ARRAY_TASK_ID of \(shards); skipped when its part is already complete (a re-submission).
                exec \(gym) design sweep \(args) --shard "${SLURM_ARRAY_TASK_ID}/\(shards)" \\
                    --out \(shellQuote(parts))/sweep-"${SLURM_ARRAY_TASK_ID}".h5 --skip-complete

                """
        let partList = shellQuote(parts) + "/sweep-{0..\(shards - 1)}.h5"  // bash brace expansion: every part
        let merge =
            slurm.header(name: "mg-sweep-merge", log: "\(root)/logs/merge-%j.out", array: nil)
                + """
                # Joins the parts; refuses incomplete or mismatched ones.
                exec \(gym) design merge \(partList) --out \(shellQuote(root + "/sweep.h5"))

                """
        try writeSlurmJobs(
            dir: root, options: slurm, arrayName: "sweep-array.sbatch", arrayScript: array, finalName: "merge.sbatch",
            finalScript: merge, summary: "\(shards) shards")
    }
}

struct SlurmStudy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "study",
        abstract: "A training study as a job array (one task per agent × environment × seed) and an aggregation job.")
    @Option(help: "Study folder (study.json, runs/, logs/, summary.csv and .md).") var dir: String
    @OptionGroup var slurm: SlurmOptions
    @OptionGroup var study: StudyOptions

    func run() throws {
        let root = absolutePath(dir)
        let plan = try study.plan(dir: root)
        let gym = shellQuote(try slurm.binary())
        let array =
            slurm.header(name: "mg-study", log: "\(root)/logs/task-%A_%a.out", array: "0-\(plan.tasks.count - 1)")
                + """
                # Task $SLURM_ARRAY_TASK_ID of study.json; skipped when its summary.json is complete, resumed from its
                # checkpoint when it was interrupted (DQN).
                exec \(gym) study run --dir \(shellQuote(root)) --task "${SLURM_ARRAY_TASK_ID}"

                """
        let aggregate =
            slurm.header(name: "mg-study-aggregate", log: "\(root)/logs/aggregate-%j.out", array: nil)
                + """
                exec \(gym) study aggregate --dir \(shellQuote(root))

                """
        try writeSlurmJobs(
            dir: root, options: slurm, arrayName: "study-array.sbatch", arrayScript: array,
            finalName: "aggregate.sbatch", finalScript: aggregate, summary: "\(plan.tasks.count) tasks")
    }
}

/// `path` made absolute against the current folder and standardised.
func absolutePath(_ path: String) -> String {
    let p =
        path.hasPrefix("/") ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
    return (p as NSString).standardizingPath
}
