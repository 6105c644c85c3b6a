import { renderDashboards, runGenerator } from './generate.js';

runGenerator('dashboards', renderDashboards(), process.argv.slice(2));
