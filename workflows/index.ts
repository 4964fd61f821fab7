export { incident } from './incident';
export { serviceGuard } from './service-guard';
