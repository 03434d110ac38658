// Runs before every test file: the engine uses the native kernels where `npm install` built them,
// as the service does (src/service/engine-worker.ts); tests of the other paths switch them off.
import { registerNativeKernels } from "../src/native/kernels.js";

registerNativeKernels();
