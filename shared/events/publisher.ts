// The process's event publisher: EventBridge when a bus is configured, the log otherwise.
import { config } from '../config';
import type { DomainEvent, EventPublisher } from '../domain/domain-events';
import { logger } from '../logger';
import { eventBridgePublisher } from './eventbridge-publisher';

const logPublisher: EventPublisher = {
  async publish(events: readonly DomainEvent[]) {
    for (const e of events)
      logger.info('domain event', { eventId: e.eventId, type: e.type, accountId: e.accountId, event: e });
  },
};

let chosen: EventPublisher | undefined;

export function eventPublisher(): EventPublisher {
  if (!chosen) {
    const cfg = config();
    chosen = cfg.EVENT_BUS_NAME ? eventBridgePublisher(cfg.EVENT_BUS_NAME, cfg.AWS_REGION) : logPublisher;
  }
  return chosen;
}

/** Tests put a recording (or failing) publisher in place; `undefined` goes back to the configured one. */
export function setEventPublisher(publisher: EventPublisher | undefined): void {
  chosen = publisher;
}
