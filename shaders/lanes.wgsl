// Whether a subgroup's lanes are its workgroup's threads in order, in subgroups of a multiple of
// 4 lanes: what conv.wgsl's LANES counts on. WebGPU does not promise it; every driver seen does.
// Run once per device, on a workgroup of the GEMM's 64 threads: each writes the subgroup's size
// where that holds for it, 0 where not.

@group(0) @binding(0) var<storage, read_write> in_order: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) size: u32) {
    in_order[li] = select(0u, size, size % 4u == 0u && lane == li % size);
}
