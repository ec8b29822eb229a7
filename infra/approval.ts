// Four-eyes approval as a deployment setting: the same props for the cloud stack and the local
// stack, turned into the functions' environment and validated as they validate it.
import { loadConfig } from '../shared/config';

export interface ApprovalProps {
  /** Only batches with at least this many members need approval... */
  minEvents?: number;
  /** ...or whose preview changes charges in one currency by at least this amount (e.g. "100.00"). */
  minChargeChange?: string;
}

/** The functions' environment for approval, validated here as each function validates it at cold start. */
export function approvalSettings(approval: ApprovalProps | undefined): Record<string, string> {
  if (!approval) return {};
  const settings: Record<string, string> = {
    APPROVAL: 'on',
    ...(approval.minEvents !== undefined ? { APPROVAL_MIN_EVENTS: String(approval.minEvents) } : {}),
    ...(approval.minChargeChange !== undefined ? { APPROVAL_MIN_CHARGE_CHANGE: approval.minChargeChange } : {}),
  };
  loadConfig({ TABLE_NAME: 'synth', ...settings });
  return settings;
}
