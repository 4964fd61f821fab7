export { incident } from './incident';
export { serviceGuard } from './blast-radius-budget';
export { scheduledRun } from './scheduled-run';
export { drill } from './drill';
