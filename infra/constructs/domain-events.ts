// Domain events (balance-group moves, transfers, adjustments): the bus they go to, and the outbox
// relay that publishes, every minute, the events committed with their operation but not yet sent.
import { Duration } from 'aws-cdk-lib';
import { EventBus, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import type { FunctionFactory, FunctionSpec, ServiceFunction } from './functions';

export const outboxRelay: FunctionSpec = {
  handler: 'functions/events/publish-outbox.ts',
  access: { table: 'readWrite', events: true },
};

export class DomainEvents extends Construct {
  readonly bus: EventBus;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.bus = new EventBus(this, 'Bus', {
      description: 'usage-corrections domain events (at-least-once; consumers deduplicate on eventId)',
    });
  }

  /** The relay runs after the factory knows the bus; it is one more least-privilege function. */
  addOutboxRelay(functions: FunctionFactory): ServiceFunction {
    const relay = functions.create(this, 'OutboxRelay', outboxRelay, { kind: 'task' });
    new Rule(this, 'OutboxRelaySchedule', {
      description: 'Publishes committed domain events the operations could not publish at once',
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [new LambdaFunction(relay.function, { retryAttempts: 2 })],
    });
    return relay;
  }
}
