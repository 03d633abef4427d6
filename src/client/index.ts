// Public surface of the client side of the live stream: the frame schema shared with the server.
export {
  ClientMessageSchema,
  ExecutionLogSchema,
  ExecutionUpdateSchema,
  FRAME_TYPES,
  FrameSchema,
  executionUpdate,
  type ClientMessage,
  type ExecutionLog,
  type ExecutionUpdate,
  type Frame,
  type FrameType,
} from './frames.js';
export {
  CLOSE_POLICY_VIOLATION,
  StreamClient,
  streamUrl,
  WS_PATH,
  type StreamAuthMode,
  type StreamClientOptions,
  type StreamState,
  type StreamStatusInfo,
  type WebSocketConstructorLike,
  type WebSocketLike,
} from './stream-client.js';
export { FINAL_STATUSES, formatFrame, formatTime, frameStatus } from './watch-format.js';
export { ExecutionFollower, type FollowVerdict } from './execution-follower.js';
