import { transferAction } from '../../test/fixtures/policy';

/**
 * The bundle the SDK's integration tests run under: mail the agent sends itself (executor
 * agent), allowed to the company's own domain, denied to a competitor, otherwise needing one
 * comms reviewer; a report that expires after 2 s without a decision; transfers executed by
 * Countersign over http at the test's target.
 */
export function sdkPolicy(targetUrl: string): string {
  return `
defaults:
  decision: deny
  approval: { timeout: 1h, onTimeout: deny }
actions:
${transferAction(targetUrl)}
  email.send:
    owner: comms
    category: external_communication
    params:
      type: object
      required: [to, subject]
      additionalProperties: false
      properties:
        to: { type: string }
        subject: { type: string }
    executor: { type: agent }
  report.publish:
    owner: comms
    category: external_communication
    params:
      type: object
      required: [title]
      properties:
        title: { type: string }
    executor: { type: agent }
rules:
  - id: small-transfers
    action: payments.transfer
    when: params.amount <= 100
    decision: allow
  - id: internal-mail
    action: email.send
    when: params.to.endsWith("@example.com")
    decision: allow
  - id: no-competitors
    action: email.send
    when: params.to.endsWith("@rival.test")
    decision: deny
    reason: Never email a competitor
  - id: external-mail
    action: email.send
    when: '!params.to.endsWith("@example.com")'
    decision: require_approval
    reason: Mail leaving the company needs a comms reviewer
    approval:
      steps:
        - { group: comms, quorum: 1, timeout: 1h }
  - id: reports-expire
    action: report.publish
    decision: require_approval
    reason: Reports need a comms reviewer within 2 seconds
    approval:
      steps:
        - { group: comms, quorum: 1, timeout: 2s }
      onTimeout: deny
`;
}
