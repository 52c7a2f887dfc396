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
#include <stdlib.h>
#include <string.h>

unsigned h5s_f_acc_trunc(void) { return H5F_ACC_TRUNC; }
unsigned h5s_f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
unsigned h5s_f_acc_rdwr(void) { return H5F_ACC_RDWR; }
int64_t h5s_p_link_create(void) { return H5P_LINK_CREATE; }
int64_t h5s_p_dataset_create(void) { return H5P_DATASET_CREATE; }

struct list_ctx { void (*cb)(const char *, void *); void *ctx; };

static herr_t visit_link(hid_t group, const char *name, const H5L_info_t *info, void *data) {
    (void)info;
    struct list_ctx *lc = (struct list_ctx *)data;
    hid_t obj = H5Oopen(group, name, H5P_DEFAULT);
    if (obj < 0) return 0;
    if (H5Iget_type(obj) == H5I_DATASET) lc->cb(name, lc->ctx);
    H5Oclose(obj);
    return 0;
}

int h5s_list_datasets(int64_t file, void (*cb)(const char *name, void *ctx), void *ctx) {
    struct list_ctx lc = { cb, ctx };
    return H5Lvisit(file, H5_INDEX_NAME, H5_ITER_INC, visit_link, &lc) < 0 ? -1 : 0;
}

int h5s_write_string_attribute(int64_t obj, const char *name, const char *value) {
    if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    int rc = -1;
    if (a >= 0) { rc = H5Awrite(a, t, &value) < 0 ? -1 : 0; H5Aclose(a); }
    H5Sclose(s); H5Tclose(t);
    return rc;
}

char *h5s_read_string_attribute(int64_t obj, const char *name) {
    if (H5Aexists(obj, name) <= 0) return NULL;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return NULL;
    hid_t ft = H5Aget_type(a);
    char *out = NULL;
    if (H5Tget_class(ft) == H5T_STRING) {
        if (H5Tis_variable_str(ft) > 0) {
            hid_t mt = H5Tcopy(H5T_C_S1); H5Tset_size(mt, H5T_VARIABLE); H5Tset_cset(mt, H5Tget_cset(ft));
            char *p = NULL;
            if (H5Aread(a, mt, &p) >= 0 && p) { out = strdup(p); H5free_memory(p); }
            H5Tclose(mt);
        } else {
            size_t n = H5Tget_size(ft);
            hid_t mt = H5Tcopy(H5T_C_S1); H5Tset_size(mt, n + 1); H5Tset_cset(mt, H5Tget_cset(ft));
            out = calloc(n + 2, 1);
            if (H5Aread(a, mt, out) < 0) { free(out); out = NULL; }
            H5Tclose(mt);
        }
    }
    H5Tclose(ft); H5Aclose(a);
    return out;
}

/* IEEE 754 half precision, little-endian (the layout h5py reads as numpy float16); HDF5 < 1.14.4 has no
   predefined H5T_IEEE_F16LE. Created once and kept for the process. */
int64_t h5s_ieee_f16le(void) {
    static hid_t t = -1;
    if (t < 0) {
        t = H5Tcopy(H5T_IEEE_F32LE);
        H5Tset_fields(t, 15, 10, 5, 0, 10);
        H5Tset_size(t, 2);
        H5Tset_ebias(t, 15);
        H5Tpack(t);
    }
    return t;
}
