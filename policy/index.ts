/**
 * The policy module: load a bundle (YAML/JSON), validate it with line-precise errors,
 * compile it, and evaluate actions against it. Pure: no I/O, no clocks, no globals
 * beyond the CEL engine instance.
 */
export { loadPolicyBundle, validatePolicyBundle } from './load-bundle';
export { compileOr422 } from './compile-or-422';
export type { LoadPolicyOptions, PolicyValidationResult } from './load-bundle';
export { evaluatePolicy, factsOf, validateActionParams, checkEvaluationLimits, denialByNoRule, sensitivePaths } from './evaluate-policy';
export type { EvaluationLimitsResult, ParamsValidationResult } from './evaluate-policy';
export { DEFAULT_INPUT_LIMITS, checkInputLimits, checkValueLimits } from './input-limits';
export type { InputLimitBreach, InputLimitName, InputLimits, LimitedInput } from './input-limits';
export type { ParamsError } from './params-schema';
export type { CompiledPolicyBundle, CompiledAction, CompiledRule } from './compiled-bundle';
export type { PolicyBundleDocument } from './bundle-schema';
export { PolicyValidationError, UnknownActionError, CelCompileError } from './errors';
export type { PolicyIssue } from './errors';
export { parseDuration } from './duration';
export { CLAIM_VARIABLES, POLICY_CEL_VARIABLES, createCelJsEngine, defaultCelEngine } from './cel-engine';
export type { CelEngine, CelJsEngineOptions, CelProgram, PolicyActivation, PolicyCelVariable } from './cel-engine';
export { parsePolicyTestSuite, runPolicyTests, policyTestSuiteSchema } from './policy-tests';
export type { PolicyTestCase, PolicyTestResult, PolicyTestSuiteParseResult } from './policy-tests';
