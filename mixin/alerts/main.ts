import { runGenerator } from '../dashboards/generate.js';
import { renderAlertFiles } from './generate.js';

runGenerator('alerts', renderAlertFiles(), process.argv.slice(2));
