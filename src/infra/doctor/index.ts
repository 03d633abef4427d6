// Public surface of the tool check behind `devteam doctor`.
export { formatDoctor, runDoctor } from './doctor.js';
export type { DoctorCheck, DoctorOptions, DoctorReport } from './doctor.js';
