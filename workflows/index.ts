// Entry point of the workflow bundle: export every workflow (and its messages for clients).
export * from './governed-action';
export * from './ledger-checkpoints';
