// Workflow code of the step-overhead benchmark's worker: the product's workflows plus the hand-written floor.
export * from '../../workflows';
export { stepFloor } from './step-floor';
