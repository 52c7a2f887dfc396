// A fork/join pool for the project's parallel loops (`ParallelRegion.run` in LeonardoSim). libdispatch's
// concurrentPerform starts its second chunk about 30 µs after the first on this machine kind (measured: a region of
// 24 µs of work per worker took 72 µs), and a decode at batch 1 opens about twenty regions; these helpers instead
// spin on a generation counter for a while after each region (yielding the core to any other runnable thread) and
// only then park on a condition variable, so back-to-back regions start within a fraction of a microsecond.
#include "LeonardoKernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LK_PAUSE() _mm_pause()
#else
#define LK_PAUSE() ((void)0)
#endif

#define LK_POOL_MAX_HELPERS 255

/// How long a helper spins for the next region before it parks (nanoseconds).
static const long spin_ns = 200000;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
/// One region at a time: a caller that finds the pool busy (another thread's region, or a nested call) runs serially.
static atomic_int busy = 0;
/// Bumped once per region; helpers run the region of each new value.
static atomic_long generation = 0;
/// Helpers that finished the current region.
static atomic_int done = 0;
/// Helpers parked on `wake`.
static atomic_int sleepers = 0;
/// Helpers started (only the thread holding `busy` starts more).
static int helpers = 0;
/// The generation at which helper i was started.
static long start_generation[LK_POOL_MAX_HELPERS + 1];
// The current region, written before `generation` is bumped.
static lk_pool_task task_fn;
static void *task_ctx;
static long task_workers;

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

/// A forked child has only the thread that forked: it starts its own helpers when it first needs them.
static void reset_in_child(void) {
    pthread_mutex_init(&lock, 0);
    pthread_cond_init(&wake, 0);
    atomic_store(&busy, 0);
    atomic_store(&done, 0);
    atomic_store(&sleepers, 0);
    helpers = 0;
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void register_atfork(void) { pthread_atfork(0, 0, reset_in_child); }

static void *helper_main(void *arg) {
    long index = (long)arg;  // worker index 1, 2, ...
    // Started by the thread holding `busy` before it posts its region, so this is the generation before that one
    // (read here, a thread that starts late would take the posted region as already seen).
    long seen = start_generation[index];
    for (;;) {
        long g = atomic_load_explicit(&generation, memory_order_acquire);
        if (g == seen) {
            long start = now_ns();
            int spins = 0;
            while ((g = atomic_load_explicit(&generation, memory_order_acquire)) == seen) {
                LK_PAUSE();
                if (++spins % 64 == 0) {
                    sched_yield();
                    if (now_ns() - start > spin_ns) break;
                }
            }
            if (g == seen) {
                pthread_mutex_lock(&lock);
                atomic_fetch_add(&sleepers, 1);
                while ((g = atomic_load(&generation)) == seen) pthread_cond_wait(&wake, &lock);
                atomic_fetch_sub(&sleepers, 1);
                pthread_mutex_unlock(&lock);
            }
        }
        seen = g;
        if (index < task_workers) task_fn(task_ctx, index);
        atomic_fetch_add_explicit(&done, 1, memory_order_release);
    }
    return 0;
}

int lk_pool_run(long workers, lk_pool_task fn, void *ctx) {
    if (workers <= 1) {
        fn(ctx, 0);
        return 1;
    }
    int expected = 0;
    if (workers - 1 > LK_POOL_MAX_HELPERS || !atomic_compare_exchange_strong(&busy, &expected, 1)) return 0;
    pthread_once(&atfork_once, register_atfork);
    while (helpers < workers - 1) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 8 << 20);
        start_generation[helpers + 1] = atomic_load(&generation);
        int failed = pthread_create(&t, &attr, helper_main, (void *)(long)(helpers + 1));
        pthread_attr_destroy(&attr);
        if (failed) break;
        helpers += 1;
    }
    if (helpers < workers - 1) {  // could not start the threads: the caller runs the region serially
        atomic_store(&busy, 0);
        return 0;
    }
    task_fn = fn;
    task_ctx = ctx;
    task_workers = workers;
    atomic_store_explicit(&done, 0, memory_order_relaxed);
    atomic_fetch_add(&generation, 1);  // sequentially consistent: orders against `sleepers` below
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&lock);
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&lock);
    }
    fn(ctx, 0);
    int spins = 0;
    while (atomic_load_explicit(&done, memory_order_acquire) < helpers) {
        LK_PAUSE();
        if (++spins % 64 == 0) sched_yield();
    }
    atomic_store(&busy, 0);
    return 1;
}
