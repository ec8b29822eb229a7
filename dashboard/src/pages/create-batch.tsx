// Creating a batch (type, name, options), with the selected events added and each refusal shown.
import { useState } from 'preact/hooks';
import { CREATABLE_BATCH_TYPES, type Batch, type CreatableBatchType, type NewBatch, type Refusal } from '../api';
import { href } from '../router';
import { ProblemAlert, useAction, useApi, utcInstant } from '../ui';
import { RefusalTable } from './refusals';

/** The API takes at most this many ids a call. */
const IDS_PER_CALL = 1000;

interface Created {
  batch: Batch;
  added: number;
  rejected: Refusal[];
  /** Adding failed part way (the batch exists). */
  addError?: unknown;
}

export function CreateBatchForm({ eventIds, onCreated }: { eventIds: string[]; onCreated?(batch: Batch): void }) {
  const api = useApi();
  const [type, setType] = useState<CreatableBatchType>('RERATE');
  const create = useAction(async (input: NewBatch, ids: string[]): Promise<Created> => {
    const batch = await api.createBatch(input);
    const result: Created = { batch, added: 0, rejected: [] };
    try {
      for (let i = 0; i < ids.length; i += IDS_PER_CALL) {
        const added = await api.addEventIds(batch.batchId, ids.slice(i, i + IDS_PER_CALL));
        result.added += added.added;
        result.rejected.push(...added.rejected);
      }
    } catch (error) {
      result.addError = error;
    }
    onCreated?.(batch);
    return result;
  });

  const submit = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const text = (name: string) => String(form.get(name) ?? '').trim() || undefined;
    const effectiveAt = utcInstant(text('effectiveAt') ?? '');
    void create.go(
      {
        type,
        name: text('name'),
        description: text('description'),
        options: {
          arPolicy: form.get('arPolicy') === 'CREDIT_REBILL' ? 'CREDIT_REBILL' : 'REJECT',
          creditOnly: type === 'REVERSE_REPLACE' && form.get('creditOnly') === 'on',
          ...(effectiveAt ? { effectiveAt } : {}),
        },
      },
      eventIds,
    );
  };

  const done = create.result;
  return (
    <>
      <form class="stacked" onSubmit={submit} aria-label="Create a batch">
        <div class="field">
          <label for="b-type">Type</label>
          <select
            id="b-type"
            name="type"
            value={type}
            onChange={(e) => setType(e.currentTarget.value as CreatableBatchType)}
          >
            {CREATABLE_BATCH_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="b-name">Name</label>
          <input id="b-name" name="name" maxLength={200} autocomplete="off" />
        </div>
        <div class="field">
          <label for="b-description">Description</label>
          <input id="b-description" name="description" maxLength={2000} autocomplete="off" />
        </div>
        <div class="field">
          <label for="b-ar-policy">AR policy (interfaced bill lines)</label>
          <select id="b-ar-policy" name="arPolicy" defaultValue="REJECT">
            <option value="REJECT">REJECT: refuse changes to interfaced lines</option>
            <option value="CREDIT_REBILL">CREDIT_REBILL: credit and rebill in the earliest open period</option>
          </select>
        </div>
        {type === 'REVERSE_REPLACE' ? (
          <div class="field checkbox">
            <input id="b-credit-only" name="creditOnly" type="checkbox" />
            <label for="b-credit-only">Credit only (reverse without replacement)</label>
          </div>
        ) : null}
        <div class="field">
          <label for="b-effective-at">Effective at (UTC, optional)</label>
          <input id="b-effective-at" name="effectiveAt" type="datetime-local" step="1" />
        </div>
        <button type="submit" disabled={create.busy}>
          {eventIds.length > 0 ? `Create batch with ${eventIds.length} selected event(s)` : 'Create empty batch'}
        </button>
      </form>
      <ProblemAlert error={create.error} title="Not created" />
      {done ? (
        <div class="result" role="status" data-testid="create-result">
          <p>
            Created {done.batch.type} batch{' '}
            <a href={href(['batches', done.batch.batchId])}>{done.batch.name ?? done.batch.batchId}</a>: {done.added}{' '}
            event(s) added, {done.rejected.length} refused.
          </p>
          <ProblemAlert error={done.addError} title="Adding events stopped" />
          <RefusalTable refusals={done.rejected} caption="Refused events" />
        </div>
      ) : null}
    </>
  );
}
