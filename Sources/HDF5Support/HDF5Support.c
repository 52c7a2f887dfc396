#include "HDF5Support.h"
#include <hdf5.h>

int64_t h5s_native_float(void) { return H5T_NATIVE_FLOAT; }
int64_t h5s_native_double(void) { return H5T_NATIVE_DOUBLE; }
int64_t h5s_native_int64(void) { return H5T_NATIVE_INT64; }
int64_t h5s_native_uint64(void) { return H5T_NATIVE_UINT64; }
int64_t h5s_native_uint8(void) { return H5T_NATIVE_UINT8; }
int64_t h5s_c_s1(void) { return H5T_C_S1; }
int64_t h5s_p_default(void) { return H5P_DEFAULT; }
int64_t h5s_s_all(void) { return H5S_ALL; }
int64_t h5s_p_file_access(void) { return H5P_FILE_ACCESS; }
void h5s_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
int h5s_type_class(int64_t dtype) {
    switch (H5Tget_class(dtype)) {
        case H5T_FLOAT: return 1;
        case H5T_INTEGER: return 2;
        case H5T_STRING: return 3;
        default: return 0;
    }
}
