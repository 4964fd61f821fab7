export { SEARCH_ATTRIBUTE_TYPES as SEARCH_ATTRIBUTES } from '../schemas/incident-wire-names';
