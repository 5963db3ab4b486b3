export { Container } from './container';
export { createContainer, getContainerSync, listContainersSync } from './registry';
export type { CreateContainerOptions } from './registry';
export { unmountStaleStaging } from './reconcile';
export type { ContainerRecord, MountSpec, CommitOptions, DriverName, DriverChoice } from './types';
