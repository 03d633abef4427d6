// Public surface of the client side of the live stream: the frame schema shared with the server.
export {
  ClientMessageSchema,
  ExecutionLogSchema,
  ExecutionUpdateSchema,
  FRAME_TYPES,
  FrameSchema,
  type ClientMessage,
  type ExecutionLog,
  type ExecutionUpdate,
  type Frame,
  type FrameType,
} from './frames.js';
