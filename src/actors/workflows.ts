// Every workflow this build knows, registered by the event type it handles.
import { devteamAutomation, type DevteamAutomationDeps } from './devteam-automation.js';
import { WorkflowRegistry } from './workflow-registry.js';

export function defaultRegistry(deps: DevteamAutomationDeps): WorkflowRegistry {
  return new WorkflowRegistry().register(devteamAutomation(deps));
}
