
// The tree sum of one f32 per thread over a workgroup of GROUP threads (256, as each shader
// that appends this file defines it): every thread gets the total, and the scratch is free
// again when it returns, so that sums may follow one another.
var<workgroup> sum_scratch: array<f32, 256>;

fn workgroup_sum(l: u32, v: f32) -> f32 {
    sum_scratch[l] = v;
    workgroupBarrier();
    for (var half = GROUP / 2u; half > 0u; half /= 2u) {
        if (l < half) {
            sum_scratch[l] += sum_scratch[l + half];
        }
        workgroupBarrier();
    }
    let total = sum_scratch[0];
    workgroupBarrier();
    return total;
}
