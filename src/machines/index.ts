export {
  eventMachine,
  EVENT_MACHINE_ID,
  EVENT_MACHINE_VERSION,
  type EventMachineInput,
  type Plan,
  type TaskContext,
} from './event-machine.js';
