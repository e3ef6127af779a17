/**
 * How long each point of the GPU run's benchmark may take. `gpu` is sized for the device's
 * ~8-minute plan (bench/gpu-run/README.md); `cpu-dry-run` runs the same steps on a shared CPU
 * machine, with batch 1 only, shorter caps and the service points on the small bundle, to prove
 * the run works before GPU time is spent (its numbers are not a GPU's).
 */
export interface Profile {
  batches: number[];
  /** Batches of the CPU reference (a batch of 32 RN50 images takes seconds on a CPU). */
  cpuBatches: number[];
  graphWarmUps: number;
  graphMinIterations: number;
  graphMaxIterations: number;
  graphSecondsPerPoint: number;
  /** Also time the fp16 bundle on the CPU provider (slow: onnxruntime's CPU kernels are fp32). */
  cpuFp16: boolean;
  /**
   * The c=32 service points on the RN50 bundle; false: on the shipped small bundle instead (the
   * CPU dry run: RN50 at c=32 on a shared 2-core CPU takes many minutes per point).
   */
  rn50Service: boolean;
  /** Head batch of the "batching on" service (and the shipped bundle's). */
  serviceMaxBatch: number;
  serviceStartSeconds: number;
  loadMaxRequests: number;
  loadSecondsPerPoint: number;
}

export const PROFILES = {
  gpu: {
    batches: [1, 8, 32],
    cpuBatches: [1, 8],
    graphWarmUps: 5,
    graphMinIterations: 20,
    graphMaxIterations: 300,
    graphSecondsPerPoint: 4,
    cpuFp16: false,
    rn50Service: true,
    serviceMaxBatch: 32,
    serviceStartSeconds: 25,
    loadMaxRequests: 4000,
    loadSecondsPerPoint: 10,
  },
  'cpu-dry-run': {
    // RN50 at batch 1 takes ~20 s per run on the shared 2-core machine at load ~25.
    batches: [1],
    cpuBatches: [1],
    graphWarmUps: 1,
    graphMinIterations: 2,
    graphMaxIterations: 20,
    graphSecondsPerPoint: 10,
    cpuFp16: true,
    rn50Service: false,
    serviceMaxBatch: 8,
    serviceStartSeconds: 60,
    loadMaxRequests: 200,
    loadSecondsPerPoint: 15,
  },
} satisfies Record<string, Profile>;

/** Planned seconds for `providers` providers over `bundles` RN50 bundles (the ETA's start). */
export function planSeconds(profile: Profile, providers: number, bundles: number): number {
  const graph = bundles * profile.batches.length * profile.graphSecondsPerPoint;
  const load = 5 * profile.loadSecondsPerPoint; // c=32 on, c=32 off, shipped c=1/8/32
  return providers * (graph + profile.serviceStartSeconds + load);
}
