// Public surface of admission control: the fair per-worker slots and the worker's builds/sandbox-starts gate.
export { FairSlots, type FairSlotsOptions, type Release } from './fair-slots.js';
export { Admission, ADMISSION_KINDS, type AdmissionCall, type AdmissionKind, type AdmissionOptions } from './admission.js';
