import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { domainEvent } from '../../shared/domain/domain-events';
import { eventBridgePublisher } from '../../shared/events/eventbridge-publisher';

const eventBridge = mockClient(EventBridgeClient);
afterEach(() => eventBridge.reset());

const moved = (n: number) =>
  domainEvent(
    'BALANCE_GROUP_MOVED',
    `m-${n}`,
    { accountId: 'a', occurredAt: '2026-06-01T00:00:00.000Z', actor: 'ops' },
    { moveId: `m-${n}`, balanceGroupId: 's', fromBillUnitId: 'b1', toBillUnitId: 'b2' },
  );

describe('eventBridgePublisher', () => {
  it('sends events in calls of at most ten, with the type as detail-type and the whole event as detail', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    await eventBridgePublisher('bus-1', 'us-east-1').publish(Array.from({ length: 23 }, (_, i) => moved(i)));
    const calls = eventBridge.commandCalls(PutEventsCommand);
    expect(calls.map((c) => c.args[0].input.Entries!.length)).toEqual([10, 10, 3]);
    const first = calls[0]!.args[0].input.Entries![0]!;
    expect(first).toMatchObject({
      EventBusName: 'bus-1',
      Source: 'usage-corrections',
      DetailType: 'BALANCE_GROUP_MOVED',
    });
    expect(JSON.parse(first.Detail!)).toMatchObject({
      eventId: 'BALANCE_GROUP_MOVED:m-0',
      detail: { toBillUnitId: 'b2' },
    });
  });

  it('throws when EventBridge refuses an entry, so the outbox keeps the event pending', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException' }] });
    await expect(eventBridgePublisher('bus-1', 'us-east-1').publish([moved(1)])).rejects.toThrow(
      /BALANCE_GROUP_MOVED:m-1: ThrottlingException/,
    );
  });
});
