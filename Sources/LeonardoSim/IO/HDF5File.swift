import CHDF5
import Foundation
import HDF5Support

/// A small, typed wrapper over the HDF5 C library: datasets of float32/float64/int64/uint64, string and
/// numeric attributes, nested paths ("optimizer/m/encoder.conv1.weight"). Errors name the file and object.
public final class HDF5File {
    public let path: String
    let id: hid_t
    private var closed = false

    private init(path: String, id: hid_t) {
        self.path = path
        self.id = id
    }

    static let initialise: Void = { h5s_silence_errors() }()

    /// Creates (truncating) a file.
    public static func create(_ path: String) throws -> HDF5File {
        _ = initialise
        let id = H5Fcreate(path, h5s_f_acc_trunc(), h5s_p_default(), h5s_p_default())
        if id < 0 { throw LeonardoError.hdf5("cannot create HDF5 file \(path) (is the folder writable?)") }
        return HDF5File(path: path, id: id)
    }

    /// Opens an existing file.
    public static func open(_ path: String, writable: Bool = false) throws -> HDF5File {
        _ = initialise
        guard FileManager.default.fileExists(atPath: path) else { throw LeonardoError.fileNotFound(path) }
        if H5Fis_hdf5(path) <= 0 {
            throw LeonardoError.hdf5("\(path) is not an HDF5 file (truncated or another format)")
        }
        let id = H5Fopen(path, writable ? h5s_f_acc_rdwr() : h5s_f_acc_rdonly(), h5s_p_default())
        if id < 0 { throw LeonardoError.hdf5("cannot open HDF5 file \(path) (truncated or damaged?)") }
        return HDF5File(path: path, id: id)
    }

    public func close() {
        if !closed {
            H5Fclose(id)
            closed = true
        }
    }

    deinit { close() }

    /// Whether an object exists at `name` (intermediate groups are checked one by one).
    public func exists(_ name: String) -> Bool {
        var prefix = ""
        for part in name.split(separator: "/") {
            prefix += prefix.isEmpty ? String(part) : "/" + part
            if H5Lexists(id, prefix, h5s_p_default()) <= 0 { return false }
        }
        return !prefix.isEmpty
    }

    /// Paths of every dataset in the file, sorted.
    public func datasetNames() -> [String] {
        final class Box { var names: [String] = [] }
        let box = Box()
        let ctx = Unmanaged.passUnretained(box).toOpaque()
        _ = h5s_list_datasets(
            id,
            { name, ctx in
                let b = Unmanaged<Box>.fromOpaque(ctx!).takeUnretainedValue()
                b.names.append(String(cString: name!))
            }, ctx)
        return box.names.sorted()
    }

    // MARK: datasets

    /// Store float32 datasets as IEEE half precision (h5py reads them as float16; readers here convert back).
    public var storeFloatsAsHalf = false

    private func writeRaw(_ name: String, shape: [Int], type: hid_t, fileType: hid_t? = nil, data: UnsafeRawPointer)
        throws
    {
        if exists(name) { H5Ldelete(id, name, h5s_p_default()) }
        var dims = shape.map { hsize_t($0) }
        let space = H5Screate_simple(Int32(dims.count), &dims, nil)
        defer { H5Sclose(space) }
        let lcpl = H5Pcreate(h5s_p_link_create())
        H5Pset_create_intermediate_group(lcpl, 1)
        defer { H5Pclose(lcpl) }
        // No modification times in the object headers: the same content gives the same bytes (reproducible files).
        let dcpl = H5Pcreate(h5s_p_dataset_create())
        H5Pset_obj_track_times(dcpl, false)
        defer { H5Pclose(dcpl) }
        let ds = H5Dcreate2(id, name, fileType ?? type, space, lcpl, dcpl, h5s_p_default())
        if ds < 0 { throw LeonardoError.hdf5("\(path): cannot create dataset '\(name)'") }
        defer { H5Dclose(ds) }
        if H5Dwrite(ds, type, h5s_s_all(), h5s_s_all(), h5s_p_default(), data) < 0 {
            throw LeonardoError.hdf5("\(path): cannot write dataset '\(name)' (disk full?)")
        }
    }

    public func write(_ name: String, _ data: UnsafeBufferPointer<Float>, shape: [Int]) throws {
        precondition(shape.reduce(1, *) == data.count, "shape \(shape) does not match \(data.count) values")
        try writeRaw(
            name, shape: shape, type: h5s_native_float(), fileType: storeFloatsAsHalf ? h5s_ieee_f16le() : nil,
            data: UnsafeRawPointer(data.baseAddress ?? UnsafePointer(bitPattern: 64)!))
    }

    public func write(_ name: String, _ data: [Float], shape: [Int]) throws {
        try data.withUnsafeBufferPointer { try write(name, $0, shape: shape) }
    }

    public func write(_ name: String, _ data: [Double], shape: [Int]) throws {
        precondition(shape.reduce(1, *) == data.count)
        try data.withUnsafeBytes {
            try writeRaw(
                name, shape: shape, type: h5s_native_double(), data: $0.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!
            )
        }
    }

    public func write(_ name: String, _ data: [Int64], shape: [Int]) throws {
        precondition(shape.reduce(1, *) == data.count)
        try data.withUnsafeBytes {
            try writeRaw(
                name, shape: shape, type: h5s_native_int64(), data: $0.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!)
        }
    }

    public func write(_ name: String, _ data: [UInt64], shape: [Int]) throws {
        precondition(shape.reduce(1, *) == data.count)
        try data.withUnsafeBytes {
            try writeRaw(
                name, shape: shape, type: h5s_native_uint64(), data: $0.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!
            )
        }
    }

    private func openDataset(_ name: String) throws -> hid_t {
        guard exists(name) else { throw LeonardoError.missingDataset(file: path, name: name) }
        let ds = H5Dopen2(id, name, h5s_p_default())
        if ds < 0 { throw LeonardoError.missingDataset(file: path, name: name) }
        return ds
    }

    /// The shape of a dataset.
    public func shape(_ name: String) throws -> [Int] {
        let ds = try openDataset(name)
        defer { H5Dclose(ds) }
        let space = H5Dget_space(ds)
        defer { H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        if rank <= 0 { return [] }
        var dims = [hsize_t](repeating: 0, count: rank)
        H5Sget_simple_extent_dims(space, &dims, nil)
        return dims.map { Int($0) }
    }

    private func readRaw<T>(_ name: String, memType: hid_t, as: T.Type, expected: String, allowInteger: Bool) throws
        -> (shape: [Int], data: [T])
    {
        let shp = try shape(name)
        let ds = try openDataset(name)
        defer { H5Dclose(ds) }
        let ftype = H5Dget_type(ds)
        defer { H5Tclose(ftype) }
        let cls = h5s_type_class(ftype)
        if !(cls == 1 || (allowInteger && cls == 2)) {
            throw LeonardoError.wrongType(file: path, name: name, expected: expected)
        }
        let count = shp.reduce(1, *)
        var out = [T](unsafeUninitializedCapacity: count) { buf, n in
            if count > 0 { _ = H5Dread(ds, memType, h5s_s_all(), h5s_s_all(), h5s_p_default(), buf.baseAddress) }
            n = count
        }
        if count == 0 { out = [] }
        return (shp, out)
    }

    /// Reads a numeric dataset as float32 (HDF5 converts float16/float64/integers).
    public func readFloat(_ name: String) throws -> (shape: [Int], data: [Float]) {
        try readRaw(name, memType: h5s_native_float(), as: Float.self, expected: "numeric", allowInteger: true)
    }

    public func readDouble(_ name: String) throws -> (shape: [Int], data: [Double]) {
        try readRaw(name, memType: h5s_native_double(), as: Double.self, expected: "numeric", allowInteger: true)
    }

    public func readInt64(_ name: String) throws -> (shape: [Int], data: [Int64]) {
        let ds = try openDataset(name)
        let ftype = H5Dget_type(ds)
        let cls = h5s_type_class(ftype)
        H5Tclose(ftype)
        H5Dclose(ds)
        if cls != 2 { throw LeonardoError.wrongType(file: path, name: name, expected: "an integer array") }
        return try readRaw(name, memType: h5s_native_int64(), as: Int64.self, expected: "integer", allowInteger: true)
    }

    public func readUInt64(_ name: String) throws -> (shape: [Int], data: [UInt64]) {
        try readRaw(name, memType: h5s_native_uint64(), as: UInt64.self, expected: "integer", allowInteger: true)
    }

    // MARK: attributes (on the root group, or on an object given by path)

    private func withObject<R>(_ object: String, _ body: (hid_t) throws -> R) throws -> R {
        if object == "/" || object.isEmpty { return try body(id) }
        guard exists(object) else { throw LeonardoError.missingDataset(file: path, name: object) }
        let o = H5Oopen(id, object, h5s_p_default())
        if o < 0 { throw LeonardoError.missingDataset(file: path, name: object) }
        defer { H5Oclose(o) }
        return try body(o)
    }

    public func setAttribute(_ name: String, _ value: String, on object: String = "/") throws {
        try withObject(object) { o in
            if h5s_write_string_attribute(o, name, value) < 0 {
                throw LeonardoError.hdf5("\(path): cannot write attribute '\(name)'")
            }
        }
    }

    public func stringAttribute(_ name: String, on object: String = "/") throws -> String? {
        try withObject(object) { o in
            guard let p = h5s_read_string_attribute(o, name) else { return nil }
            defer { free(p) }
            return String(cString: p)
        }
    }

    private func setNumericAttribute(
        _ name: String, type: hid_t, count: Int, scalar: Bool, on object: String, data: UnsafeRawPointer
    ) throws {
        try withObject(object) { o in
            if H5Aexists(o, name) > 0 { H5Adelete(o, name) }
            var dims = [hsize_t(count)]
            let space = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dims, nil)
            defer { H5Sclose(space) }
            let a = H5Acreate2(o, name, type, space, h5s_p_default(), h5s_p_default())
            if a < 0 { throw LeonardoError.hdf5("\(path): cannot create attribute '\(name)'") }
            defer { H5Aclose(a) }
            if H5Awrite(a, type, data) < 0 { throw LeonardoError.hdf5("\(path): cannot write attribute '\(name)'") }
        }
    }

    public func setAttribute(_ name: String, _ value: Double, on object: String = "/") throws {
        var v = value
        try setNumericAttribute(name, type: h5s_native_double(), count: 1, scalar: true, on: object, data: &v)
    }

    public func setAttribute(_ name: String, _ value: Int, on object: String = "/") throws {
        var v = Int64(value)
        try setNumericAttribute(name, type: h5s_native_int64(), count: 1, scalar: true, on: object, data: &v)
    }

    public func setAttribute(_ name: String, _ values: [Double], on object: String = "/") throws {
        try values.withUnsafeBytes {
            try setNumericAttribute(
                name, type: h5s_native_double(), count: values.count, scalar: false, on: object, data: $0.baseAddress!)
        }
    }

    private func readNumericAttribute<T: Numeric>(_ name: String, type: hid_t, on object: String) throws -> [T]? {
        try withObject(object) { o -> [T]? in
            if H5Aexists(o, name) <= 0 { return nil }
            let a = H5Aopen(o, name, h5s_p_default())
            defer { H5Aclose(a) }
            let space = H5Aget_space(a)
            defer { H5Sclose(space) }
            let n = Int(H5Sget_simple_extent_npoints(space))
            var out = [T](repeating: 0, count: max(n, 1))
            let ok = out.withUnsafeMutableBytes { H5Aread(a, type, $0.baseAddress!) >= 0 }
            if !ok { throw LeonardoError.hdf5("\(path): attribute '\(name)' is not numeric") }
            return out
        }
    }

    public func doubleAttribute(_ name: String, on object: String = "/") throws -> Double? {
        try readNumericAttribute(name, type: h5s_native_double(), on: object)?.first
    }

    public func doubleArrayAttribute(_ name: String, on object: String = "/") throws -> [Double]? {
        try readNumericAttribute(name, type: h5s_native_double(), on: object)
    }

    public func intAttribute(_ name: String, on object: String = "/") throws -> Int? {
        (try readNumericAttribute(name, type: h5s_native_int64(), on: object) as [Int64]?)?.first.map { Int($0) }
    }
}
