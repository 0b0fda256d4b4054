// WGSL shared by kernels so they agree with the runtime on how big dispatches are split.

/**
 * The dispatch contract for 1-D kernels.
 *
 * No grid dimension may exceed maxComputeWorkgroupsPerDimension (65535), so when a
 * DispatchSpec's `workgroups` is a number n above that, the runtime dispatches
 * (65535, ceil(n / 65535), 1) workgroups instead. That grid can hold up to 65534 more
 * workgroups than n, so every kernel computes a linear workgroup index and bounds-checks
 * against its own element count (which it gets from its uniforms or arrayLength()):
 *
 *   @compute @workgroup_size(64)
 *   fn main(@builtin(workgroup_id) wid: vec3<u32>,
 *           @builtin(num_workgroups) nwg: vec3<u32>,
 *           @builtin(local_invocation_index) lid: u32) {
 *     let i = linear_workgroup_id(wid, nwg) * 64u + lid;
 *     if (i >= p.n) { return; }
 *     ...
 *   }
 *
 * For an unsplit dispatch wid.y is 0, so the same code works for every size.
 */
export const WORKGROUP_ID_WGSL = /* wgsl */ `
// The runtime may run n workgroups as a (65535, ceil(n / 65535), 1) grid: number them row by row.
fn linear_workgroup_id(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x;
}
`;
