// Every workflow this build knows, registered by the event type it handles.
import { WorkflowRegistry } from './workflow-registry.js';
import { devteamAutomation } from './devteam-automation.js';

export function defaultRegistry(): WorkflowRegistry {
  return new WorkflowRegistry().register(devteamAutomation);
}
