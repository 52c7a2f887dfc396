"""A fuzzer for the Python surface of microscope_gym: random environments, seeds, options, actions, call orders,
copies, pickles, state restores, recordings, closes and threads, in child interpreters, for a bounded time.

It asserts that
- every child process survives (no signal, no abort, no memory corruption), and
- every failure is a documented exception: ValueError, TypeError or a `microscope_gym.MicroscopeGymError`
  (InvalidArgumentError, EnvironmentStateError, SpecError, ConcurrentUseError), and
- a copy (deepcopy, pickle, clone/restore) continues exactly as its original on the same actions.

    python python/tests/fuzz_surface.py --seconds 120 [--seed 0] [--workers 2]

scripts/test.sh runs it for 120 s. A failing program is reported with its seed; `--replay SEED` runs that one
program in this process, printing each operation.
"""
from __future__ import annotations

import argparse
import copy
import os
import pickle
import random
import subprocess
import sys
import threading
import time
import traceback

DOCUMENTED = (ValueError, TypeError)  # plus microscope_gym.MicroscopeGymError, added once the package is imported

OPERATIONS_PER_PROGRAM = 60


def random_seed(r: random.Random):
    return r.choice([
        None, 0, 1, r.randrange(2**64), 2**64 - 1, 2**64, -1, True, False, 1.5, "7", [1, 2], r.randrange(1000),
    ])


def random_options(r: random.Random):
    key = r.choice(["dose_rate", "frame_rate", "dose", "", "dose_rate\x00x", 3, None])
    value = r.choice([10.0, 1e6, -1.0, 0.0, float("nan"), float("inf"), "10", True, None, 25, 3.125, [1]])
    return r.choice([None, {}, {key: value}, {"dose_rate": value, "frame_rate": 25.0}, ["x"], "dose_rate", 5])


def random_action(r: random.Random, n: int):
    import numpy as np

    return r.choice([
        r.randrange(n), r.randrange(n), r.randrange(n), n, -1, 2**63, 2**70, 1.5, "3", None, True,
        np.int64(r.randrange(n)), np.array(r.randrange(n)), np.array([1, 2]), np.float32(2),
    ])


def random_vector_actions(r: random.Random, count: int, n: int):
    import numpy as np

    return r.choice([
        [r.randrange(n) for _ in range(count)], [r.randrange(n) for _ in range(count)],
        np.array([r.randrange(n) for _ in range(count)]), [n] * count, [0] * (count + 1), [], "abc",
        np.zeros((count, 2), dtype=np.int64), [1.5] * count, [None] * count,
    ])


def same_rollout(a, b, actions) -> None:
    """The copy `b` continues exactly as `a` on the same actions (single environments)."""
    import numpy as np

    for action in actions:
        ra, rb = a.step(action), b.step(action)
        assert all(np.array_equal(ra[0][k], rb[0][k]) for k in ra[0]), "a copy's observation differs"
        assert ra[1:4] == rb[1:4], "a copy's reward or flags differ"
        if ra[2] or ra[3]:
            break


def program(seed: int, log=None) -> None:
    """One random program of operations; raises AssertionError on an undocumented outcome."""
    import numpy as np

    import microscope_gym

    documented = DOCUMENTED + (microscope_gym.MicroscopeGymError,)
    r = random.Random(seed)
    ids = microscope_gym.registered_ids()
    # Cheap scenarios most of the time (every registered one now and then).
    cheap = [i for i in ids if i in ("LiquidCell-v2", "MixedSample-v0", "MixedSensitivity-v0")] or ids
    envs: list = []

    def attempt(name, call):
        if log:
            log(name)
        try:
            return call()
        except documented:
            return None
        except Exception as error:  # undocumented
            raise AssertionError(f"{name}: undocumented {type(error).__name__}: {error}") from error

    def make():
        choice = r.random()
        if choice < 0.75:
            env_id = r.choice(cheap if r.random() < 0.8 else ids)
            if r.random() < 0.7:
                return microscope_gym.MicroscopeEnv(env_id)
            return microscope_gym.MicroscopeVectorEnv(r.choice([1, 2, 3, 4, 8]), env_id)
        return r.choice([
            lambda: microscope_gym.MicroscopeEnv("NoSuch-v0"),
            lambda: microscope_gym.MicroscopeEnv(spec_file="/nonexistent.json"),
            lambda: microscope_gym.MicroscopeEnv(),
            lambda: microscope_gym.MicroscopeVectorEnv(r.choice([0, -1, 10**6, 2.5, "2"]), "LiquidCell-v2"),
            lambda: microscope_gym.MicroscopeEnv("LiquidCell-v2", render_mode="human"),
        ])()

    for _ in range(OPERATIONS_PER_PROGRAM):
        if not envs or r.random() < 0.06:
            e = attempt("make", make)
            if e is not None:
                envs.append(e)
            continue
        e = r.choice(envs)
        vector = isinstance(e, microscope_gym.MicroscopeVectorEnv)
        n = 28 if e._handle is None else e.layout.actions
        op = r.random()
        if op < 0.15:
            attempt("reset", lambda: e.reset(seed=random_seed(r), options=random_options(r) if r.random() < 0.4 else None))
        elif op < 0.55:
            if vector:
                attempt("vector step", lambda: e.step(random_vector_actions(r, e.num_envs, n)))
            else:
                attempt("step", lambda: e.step(random_action(r, n)))
        elif op < 0.62:
            def deep():
                c = copy.deepcopy(e)
                if not vector and e._handle is not None and r.random() < 0.5:
                    try:
                        e.step(0)
                        c.step(0)
                    except documented:
                        return c
                    actions = [r.randrange(n) for _ in range(3)]
                    same_rollout(e, c, actions)
                return c
            c = attempt("deepcopy", deep)
            if c is not None:
                envs.append(c)
        elif op < 0.67:
            c = attempt("pickle", lambda: pickle.loads(pickle.dumps(e)))
            if c is not None:
                envs.append(c)
        elif op < 0.74:
            def clone_restore():
                state = e.clone_state()
                damaged = r.choice([state, state[:-8], state + b"\0" * 8, b"", bytes(64), state[::-1], "x", None])
                e.restore_state(damaged)
            attempt("clone/restore", clone_restore)
        elif op < 0.77:
            def recording():
                import tempfile

                if r.random() < 0.5:
                    e.start_recording(agent=r.choice(["python", "fuzz", "", 3, "a\0b"]))
                else:
                    with tempfile.TemporaryDirectory() as folder:
                        e.save_recording(r.choice([os.path.join(folder, "r.h5"), os.path.join(folder, "no", "r.h5")]))
            if not vector:
                attempt("recording", recording)
        elif op < 0.80:
            attempt("close", e.close)
        elif op < 0.84:
            envs.remove(e)
            if log:
                log("drop")
            del e
        elif op < 0.92:
            # A burst of threads on one handle.
            errors: list = []

            def burst(k):
                rr = random.Random(seed * 7919 + k)
                for _ in range(rr.randrange(3, 12)):
                    try:
                        if vector:
                            e.step([rr.randrange(n) for _ in range(e.num_envs)])
                        elif rr.random() < 0.2:
                            e.reset(seed=rr.randrange(100))
                        else:
                            e.step(rr.randrange(n))
                    except documented:
                        pass
                    except Exception as error:
                        errors.append(f"thread: undocumented {type(error).__name__}: {error}")

            if log:
                log("threads")
            threads = [threading.Thread(target=burst, args=(k,)) for k in range(r.randrange(2, 6))]
            for t in threads:
                t.start()
            if r.random() < 0.2:
                attempt("close during threads", e.close)
            for t in threads:
                t.join()
            assert not errors, errors[0]
        else:
            attempt("raw library call", lambda: microscope_gym._native.check(
                microscope_gym._native.lib().mg_step(r.randrange(-5, 10**6), 0, None, None, None, None, None)))
    for e in envs:
        attempt("final close", e.close)


def child(first: int, stop_at: float) -> None:
    """Runs programs first, first + stride, ... until `stop_at`; prints each seed before it runs."""
    stride = int(os.environ.get("FUZZ_STRIDE", "1"))
    seed = first
    while time.time() < stop_at:
        print(f"seed {seed}", flush=True)
        program(seed)
        seed += stride
    print("done", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--replay", type=int, default=None, help="run one program here, printing its operations")
    parser.add_argument("--child", nargs=2, type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.replay is not None:
        program(args.replay, log=lambda name: print(name, flush=True))
        print("replay finished: no undocumented outcome")
        return 0
    if args.child is not None:
        child(int(args.child[0]), args.child[1])
        return 0
    deadline = time.time() + args.seconds
    programs, failures = 0, []
    next_seed = args.seed
    while time.time() < deadline and not failures:
        # Each child runs programs until its own deadline; a crash restarts it after the failing seed.
        stop_at = min(deadline, time.time() + 30)
        procs = []
        for w in range(args.workers):
            env = dict(os.environ, FUZZ_STRIDE=str(args.workers))
            procs.append(subprocess.Popen(
                [sys.executable, __file__, "--child", str(next_seed + w), str(stop_at)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            ))
        last_seed = next_seed
        for p in procs:
            out, err = p.communicate(timeout=args.seconds + 600)
            seeds = [int(line.split()[1]) for line in out.splitlines() if line.startswith("seed ")]
            if seeds:
                last_seed = max(last_seed, max(seeds))
            finished = out.rstrip().endswith("done")
            programs += len(seeds) - (0 if finished else 1)
            if p.returncode != 0 or not finished:
                failures.append(
                    f"program seed {seeds[-1] if seeds else '?'}: exit status {p.returncode}\n{err[-3000:]}")
        next_seed = last_seed + 1
    elapsed = args.seconds - max(0.0, deadline - time.time())
    print(f"fuzzed the Python surface for {elapsed:.0f} s: {programs} programs of {OPERATIONS_PER_PROGRAM} operations")
    for f in failures:
        print("FAILED", f)
        print(f"replay with: python {__file__} --replay <seed>")
    print(f"fuzz: {programs} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
