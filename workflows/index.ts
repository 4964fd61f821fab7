export { incident } from './incident';
