/*
 * microscope_gym.h: the C ABI of MicroscopeGym (libMicroscopeGymC.so, built by
 * `swift build -c release --product MicroscopeGymC`). Implemented in Sources/MicroscopeGymC/*.swift;
 * the Python package in python/ binds it with ctypes.
 *
 * Conventions:
 *  - Every function but mg_abi_version and mg_last_error returns a status: 0 ok, 1 invalid argument
 *    (null pointer, count out of range, unknown or closed handle, buffer too small), 2 environment error
 *    (action outside the space, step before reset or after the episode ended), 3 spec or model error
 *    (unknown ID, invalid spec, missing or broken checkpoint), 4 internal error, 5 busy (another thread's call on
 *    the same handle is in flight: the call was refused, nothing changed). On a non-zero status
 *    mg_last_error gives the one-line message, for the calling thread.
 *  - Handles are opaque non-zero 64-bit integers; unknown or closed handles are refused, never dereferenced.
 *  - The caller owns every buffer; the library writes into them and never returns memory to free.
 *  - One handle is used by one thread at a time: a concurrent call on it is refused with status 5, never run.
 *
 * Observations are dictionaries of float32 arrays; keys come in sorted order (features, instrument, segment,
 * tracked for the LiquidCell environments) and every call takes one pointer per key, each to
 * copies x (the key's element count) floats. Info rows hold the info keys (mg_info_key) as doubles, NaN where
 * a key is absent.
 */
#ifndef MICROSCOPE_GYM_H
#define MICROSCOPE_GYM_H
#include <stddef.h>
#include <stdint.h>

int32_t mg_abi_version(void); /* 4 */
/* Copies the last error (NUL-terminated, truncated to capacity); returns its full length without the NUL. */
ptrdiff_t mg_last_error(char *buffer, ptrdiff_t capacity);

/* Registered IDs of directory (NULL: the package's Environments/), one per line. */
int32_t mg_registry_ids(const char *directory, char *buffer, ptrdiff_t capacity);

/* Environment id of directory (NULL: the package's Environments/), or the spec file spec_file when id is NULL;
 * count 0: one environment; 1 ... 4096: a vector of count copies with batched decoding. */
int32_t mg_make(const char *directory, const char *id, const char *spec_file, int32_t count, int64_t *handle);
/* mg_make with flags: MG_FILL_LOST_FRAMES gives observations through FillLostFrames (lost frames filled by their
 * posterior mean; keys 'uncertainty' and 'belief' added; its fill prior is directory's models/
 * fill-residual-prior-v1.json). */
#define MG_FILL_LOST_FRAMES 1
int32_t mg_make_with(const char *directory, const char *id, const char *spec_file, int32_t count, int32_t flags,
                     int64_t *handle);
int32_t mg_close(int64_t handle);

/* Any output pointer may be NULL. */
int32_t mg_sizes(int64_t handle, int64_t *copies, int64_t *observation_keys, int64_t *actions, int64_t *info_keys,
                 int64_t *frames);
/* Key index (sorted order): name, shape (up to 4 dims) and rank, bounds (element count floats each; NULL skips). */
int32_t mg_observation_key(int64_t handle, int64_t index, char *name, ptrdiff_t capacity, int64_t *shape,
                           int64_t *rank, float *low, float *high);
int32_t mg_info_key(int64_t handle, int64_t index, char *name, ptrdiff_t capacity);
/* Dose rate (e-/A^2/s) and frame rate (frames/s) of a discrete action. */
int32_t mg_action_setting(int64_t handle, int64_t action, double *dose_rate, double *frame_rate);
/* "ID\ndescription" of the spec. */
int32_t mg_describe(int64_t handle, char *buffer, ptrdiff_t capacity);

/* has_seed 0 continues the generator. Options (dose_rate, frame_rate) for single environments only.
 * A vector seeds copy i with seed + i (a seed above 2^64 - copies is refused). */
int32_t mg_reset(int64_t handle, int32_t has_seed, uint64_t seed, const char *const *option_keys,
                 const double *option_values, int32_t option_count, float *const *observations, double *info);
int32_t mg_step(int64_t handle, int64_t action, float *const *observations, double *reward, uint8_t *terminated,
                uint8_t *truncated, double *info);
/* Same-step autoreset: where ended[i] is 1, row i of observations/info is the next episode's reset and
 * final_observations/final_info hold the ended episode's last step. */
int32_t mg_vector_step(int64_t handle, const int64_t *actions, float *const *observations, double *rewards,
                       uint8_t *terminated, uint8_t *truncated, double *info, float *const *final_observations,
                       double *final_info, uint8_t *ended);

/* The handle's dynamic state (generator, latent and particle state, settings, dose, damage, counters; every copy of a
 * vector) as bytes: *size gets its length; buffer NULL only queries the size; capacity below it is an error. */
int32_t mg_get_state(int64_t handle, uint8_t *buffer, ptrdiff_t capacity, ptrdiff_t *size);
/* Continues the handle from mg_get_state's bytes of an environment with the same spec and copy count (any process);
 * on a mismatch nothing changes. */
int32_t mg_set_state(int64_t handle, const uint8_t *buffer, ptrdiff_t size);

/* Trained policies: a policy file of any agent (gym-runner's policy.h5) for the environment of handle environment;
 * *observation_size gets the number of values it reads (features then instrument, float32). Privileged policies are
 * refused. Policy handles are their own (an environment function refuses them as unknown, and the reverse). */
int32_t mg_policy_load(const char *path, int64_t environment, int64_t *policy, int64_t *observation_size);
/* The greedy action for count observation values (count must equal the observation size; values must be finite). */
int32_t mg_policy_act(int64_t policy, const float *observation, int64_t count, int64_t *action);
int32_t mg_policy_name(int64_t policy, char *buffer, ptrdiff_t capacity);
int32_t mg_policy_close(int64_t policy);

/* Recording (single environments): from the next reset on, every step is kept; mg_record_save writes them as
 * gym-runner evaluate --record does (format microscopegym.recording/1), atomically. */
int32_t mg_record_start(int64_t handle, const char *agent);
int32_t mg_record_save(int64_t handle, const char *path);

/* Deployment (version 3; python/microscope_gym/deploy.py): the observation of a measured segment (positions
 * frames×2 floats in nm, NaN where not tracked; frames = the segment length) into features (12) and instrument (5);
 * the nominal particle's camera at a setting for duration seconds (electrons per frame, localisation precision in
 * nm, tracking probability, effective dose) and its damage after an effective dose; a trajectory file's floats
 * (null buffer: only count and frames). */
int32_t mg_observe(int64_t handle, const float *positions, int64_t frames, double dose_rate, double frame_rate,
                   double cumulative_dose, double damage, double elapsed_time, float *features, float *instrument);
int32_t mg_nominal_camera(int64_t handle, double dose_rate, double frame_rate, double duration,
                          double *electrons_per_frame, double *localization_precision, double *detection_probability,
                          double *effective_dose);
int32_t mg_nominal_damage(int64_t handle, double effective_dose, double *damage);
int32_t mg_read_trajectories(const char *path, float *buffer, int64_t capacity, int64_t *count, int64_t *frames);

#endif
