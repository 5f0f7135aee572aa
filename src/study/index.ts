/** `nfnet study`: the papers' claims replayed small (docs/results/claims.md). Node only (writes files). */
export { runStudy, planStudy, checkStudyModels, type PlanSummary, type StudyOptions, type StudyOutcome, type StudyProgress } from './runner.js';
export { STUDIES, getStudy, studyNames } from './studies.js';
export { fitPowerLaw, powerLawAt, type PowerLaw } from './power-law.js';
export { BUDGETS, MissingModelError, StudyError, type Budget, type RunResult, type RunSpec, type Study } from './types.js';
