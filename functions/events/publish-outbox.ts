// The outbox relay, run on a schedule (EventBridge Scheduler, every minute): publishes domain
// events that were committed but not yet published. Needs table readWrite and events:PutEvents.
import { publishPending } from '../../shared/services/publish-events';

export const handler = async (): Promise<{ published: number }> => publishPending(new Date().toISOString());
