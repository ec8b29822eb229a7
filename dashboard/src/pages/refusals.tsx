// Events the API refused, each with its stable code and reason.
import type { Refusal } from '../api';
import { href } from '../router';

export function RefusalTable({ refusals, caption }: { refusals: readonly Refusal[]; caption: string }) {
  if (refusals.length === 0) return null;
  return (
    <div class="table-wrap">
      <table class="refusals">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Event</th>
            <th scope="col">Code</th>
            <th scope="col">Reason</th>
          </tr>
        </thead>
        <tbody>
          {refusals.map((r) => (
            <tr key={r.eventId}>
              <td>
                <a href={href(['events', r.eventId])}>{r.eventId}</a>
              </td>
              <td>
                <code class="code">{r.code}</code>
              </td>
              <td>{r.message ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
