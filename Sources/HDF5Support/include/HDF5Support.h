#ifndef HDF5_SUPPORT_H
#define HDF5_SUPPORT_H
#include <stdint.h>
/* HDF5 identifiers are int64_t (hid_t) in HDF5 >= 1.10. */
int64_t h5s_native_float(void);
int64_t h5s_native_double(void);
int64_t h5s_native_int64(void);
int64_t h5s_native_uint64(void);
int64_t h5s_ieee_f16le(void);
int64_t h5s_native_uint8(void);
int64_t h5s_c_s1(void);
int64_t h5s_p_default(void);
int64_t h5s_s_all(void);
int64_t h5s_p_file_access(void);
/* Silence HDF5's own error stack printing: errors are reported by the Swift layer. */
void h5s_silence_errors(void);
/* Dataset type class helpers: 1 float, 2 integer, 3 string, 0 other. */
int h5s_type_class(int64_t dtype);
#endif
#ifndef HDF5_SUPPORT_H2
#define HDF5_SUPPORT_H2
unsigned h5s_f_acc_trunc(void);
unsigned h5s_f_acc_rdonly(void);
unsigned h5s_f_acc_rdwr(void);
int64_t h5s_p_link_create(void);
int64_t h5s_p_dataset_create(void);
/* Calls cb(name, ctx) for every dataset below the file root (full path without leading '/'). */
int h5s_list_datasets(int64_t file, void (*cb)(const char *name, void *ctx), void *ctx);
/* Writes a variable-length UTF-8 string attribute (replacing an existing one). */
int h5s_write_string_attribute(int64_t obj, const char *name, const char *value);
/* Reads a string attribute (fixed or variable length) into a malloc'd buffer the caller frees; NULL on failure. */
char *h5s_read_string_attribute(int64_t obj, const char *name);
#endif
