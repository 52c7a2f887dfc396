import Foundation

/// A growable, 64-byte aligned float32 buffer: the storage of activations, gradients and scratch space.
/// Growing reallocates (contents are not kept); hot loops never allocate.
public final class FloatBuffer {
    public private(set) var pointer: UnsafeMutablePointer<Float>
    public private(set) var capacity: Int

    public init(count: Int = 0) {
        capacity = max(count, 1)
        pointer = FloatBuffer.allocate(capacity)
        pointer.initialize(repeating: 0, count: capacity)
    }

    private static func allocate(_ n: Int) -> UnsafeMutablePointer<Float> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: n * MemoryLayout<Float>.stride, alignment: 64)
        return raw.bindMemory(to: Float.self, capacity: n)
    }

    /// Makes room for at least `count` floats; returns the pointer. New memory is zeroed.
    @discardableResult
    public func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            UnsafeMutableRawPointer(pointer).deallocate()
            capacity = count
            pointer = FloatBuffer.allocate(count)
            pointer.initialize(repeating: 0, count: count)
        }
        return pointer
    }

    public func zero(_ count: Int) { pointer.update(repeating: 0, count: min(count, capacity)) }

    public func array(_ count: Int) -> [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }
}
