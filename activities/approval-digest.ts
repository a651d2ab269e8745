import {
  approvalDigest,
  approvalDigestFor,
  approvalDigestMatches,
  keyedApprovalDigest,
  type ApprovalDigestOptions,
  type ApprovalSubject,
} from '../domain/approval-digest';
import type { ActivityDeps } from './index';

export { approvalDigest, approvalDigestFor, approvalDigestMatches, keyedApprovalDigest, type ApprovalDigestOptions, type ApprovalSubject };

/** Approval digests computed outside the workflow. */
export function createDigestActivities({ digestKey }: Required<Pick<ActivityDeps, 'digestKey'>>) {
  return {
    /**
     * The plain digest as a local activity: how workflows recorded before the workflow computed it
     * itself (patch `leaner-approval-v2`) get it, so their histories still replay.
     */
    async computeApprovalDigest(s: ApprovalSubject): Promise<string> {
      return approvalDigest(s);
    },

    /**
     * The keyed digest (`hmac-sha256:<hex>`) of an action with sensitive params, as a local
     * activity: the digest key stays in the worker, and only the digest enters the history.
     */
    async computeKeyedApprovalDigest(s: ApprovalSubject): Promise<string> {
      return keyedApprovalDigest(s, digestKey);
    },
  };
}
