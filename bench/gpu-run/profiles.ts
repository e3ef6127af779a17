/**
 * How long each point of the GPU run's benchmark may take. `gpu` is sized for the device's
 * ~8-minute plan (bench/gpu-run/README.md); `cpu-dry-run` runs the same steps on a shared CPU
 * machine, with smaller batches and caps, to prove the run works before GPU time is spent.
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
    serviceMaxBatch: 32,
    serviceStartSeconds: 25,
    loadMaxRequests: 4000,
    loadSecondsPerPoint: 10,
  },
  'cpu-dry-run': {
    batches: [1, 8],
    cpuBatches: [1, 8],
    graphWarmUps: 1,
    graphMinIterations: 2,
    graphMaxIterations: 20,
    graphSecondsPerPoint: 10,
    cpuFp16: true,
    serviceMaxBatch: 8,
    serviceStartSeconds: 90,
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
