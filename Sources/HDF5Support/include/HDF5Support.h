#ifndef HDF5_SUPPORT_H
#define HDF5_SUPPORT_H
#include <stdint.h>
/* HDF5 identifiers are int64_t (hid_t) in HDF5 >= 1.10. */
int64_t h5s_native_float(void);
int64_t h5s_native_double(void);
int64_t h5s_native_int64(void);
int64_t h5s_native_uint64(void);
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
