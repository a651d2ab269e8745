import { approvalDigest, type ApprovalSubject } from '../domain/approval-digest';

export { approvalDigest, type ApprovalSubject };

/**
 * The digest as a local activity: how workflows recorded before the workflow computed it
 * itself (patch `leaner-approval-v2`) get it, so their histories still replay.
 */
export function createDigestActivities() {
  return {
    async computeApprovalDigest(s: ApprovalSubject): Promise<string> {
      return approvalDigest(s);
    },
  };
}
